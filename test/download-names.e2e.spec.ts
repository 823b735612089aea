import { Controller, Get, Param, Query } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileSystemStorage } from 'nestjs-downloadview';
import { openUpForApache, startApache } from './support/apache.js';
import { startCaddy } from './support/caddy.js';
import { startLighttpd } from './support/lighttpd.js';
import { startNginx } from './support/nginx.js';
import { sharedMediaRoot, startSampleApp, type SampleApp } from './support/sample-app.js';
import { fetchBytes, fileSha256, writeBinaryFile, type RunningServer } from './support/servers.js';

// Real download clients save the file under the right name, from the app and through every proxy:
// curl -OJ by the ASCII `filename=` (the transliteration), wget --content-disposition by the exact
// `filename*`. Each run starts in an empty folder, which must then hold that one file, whole.
const run = promisify(execFile);

/** [what, the download name, the name curl saves] */
const NAMES: [string, string, string][] = [
  ['accented', 'report été.pdf', 'report ete.pdf'],
  ['CJK', '报告 2024.pdf', '__ 2024.pdf'],
  ['emoji', '🎉 party.zip', '_ party.zip'],
  ['double quote', 'say "hi".txt', 'say _hi_.txt'],
  ['Windows-reserved', 'what? *now*: <1|2>.txt', 'what_ _now__ _1_2_.txt'],
  // Storages refuse a backslash in a file's name; a download name may hold one.
  ['backslash', 'a\\b.txt', 'a_b.txt'],
];
const onDisk = (name: string) => name.replace('\\', '-');

/** Each proxy's folder, with the header its backend writes (mode 'auto': only when it asks). */
const PROXIES = {
  lighttpd: { header: 'X-Sendfile' },
  nginx: { header: 'X-Accel-Redirect' },
  apache: { header: 'X-Sendfile' },
  caddy: { header: 'X-Accel-Redirect' },
} as const;
type Proxy = keyof typeof PROXIES;

/** Serves a folder of the media root under a download name (`?as=`), as a controller would. */
@Controller('names')
class NamesController {
  @Get(':folder/:file')
  file(@Param('folder') folder: Proxy, @Param('file') file: string, @Query('as') as?: string) {
    const storage = new FileSystemStorage({ location: join(sharedMediaRoot(), folder), baseUrl: `/media/${folder}/` });
    return storage.download(file, as === undefined ? {} : { name: as });
  }
}

const CLIENTS = {
  curl: { args: (url: string) => ['-sSf', '-O', '-J', url], saves: (curlName: string) => curlName },
  wget: { args: (url: string) => ['-q', '--content-disposition', url], saves: (_: string, name: string) => name },
};

describe('download names with real clients (curl -OJ, wget --content-disposition)', () => {
  let sample: SampleApp;
  let appPort: number;
  const servers: Partial<Record<Proxy, RunningServer>> = {};
  const work = mkdtempSync(join(tmpdir(), 'download-names-'));

  beforeAll(async () => {
    const missing = Object.keys(CLIENTS).filter((client) => !existsSync(`/usr/bin/${client}`));
    if (missing.length)
      throw new Error(`${missing.join(' and ')} not installed: apt-get install -y ${missing.join(' ')}`);
    sample = await startSampleApp(
      {
        mode: 'auto',
        rules: [
          { sourceUrl: '/media/lighttpd/', destinationDir: join(sharedMediaRoot(), 'lighttpd') },
          { sourceUrl: '/media/nginx/', destinationDir: '/nginx/', backend: 'nginx' },
          { sourceUrl: '/media/apache/', destinationDir: join(sharedMediaRoot(), 'apache'), backend: 'apache' },
          { sourceUrl: '/media/caddy/', destinationDir: '/caddy/', backend: 'caddy' },
        ],
      },
      [NamesController],
    );
    const root = sample.root;
    mkdirSync(join(root, 'caddy'), { recursive: true });
    for (const folder of Object.keys(PROXIES)) {
      NAMES.forEach(([, name], i) => writeBinaryFile(join(root, folder, onDisk(name)), 200_000 + i, 11 + i));
    }
    await sample.app.listen(0, '127.0.0.1');
    appPort = (sample.app.getHttpServer().address() as { port: number }).port;
    servers.lighttpd = await startLighttpd({ appPort, docroots: [join(root, 'lighttpd')], announce: true });
    servers.nginx = await startNginx({ appPort, internal: { '/nginx/': join(root, 'nginx') } });
    openUpForApache(root);
    servers.apache = await startApache({ appPort, paths: [join(root, 'apache')] });
    servers.caddy = await startCaddy({ appPort, root });
  });
  afterAll(async () => {
    for (const server of Object.values(servers)) await server?.stop();
    await sample?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const path = (folder: Proxy, name: string) =>
    `/names/${folder}/${encodeURIComponent(onDisk(name))}${name === onDisk(name) ? '' : `?as=${encodeURIComponent(name)}`}`;

  /** Runs the client in an empty folder: the one file it saved, by name, and whether its bytes are the source's. */
  async function download(client: keyof typeof CLIENTS, url: string, source: string) {
    const dir = mkdtempSync(join(work, `${client}-`));
    await run(client, CLIENTS[client].args(url), { cwd: dir });
    const saved = readdirSync(dir);
    return { saved, same: saved.length === 1 && fileSha256(join(dir, saved[0])) === fileSha256(source) };
  }

  describe.each(Object.keys(PROXIES) as Proxy[])('%s', (folder) => {
    it.each(NAMES)('%s: the app delegates it, and the proxy passes its Content-Disposition on', async (_what, name) => {
      const { header } = PROXIES[folder];
      const asked = await fetchBytes(`http://127.0.0.1:${appPort}${path(folder, name)}`, {
        headers: { 'X-Sendfile-Type': header },
      });
      // Caddy's rewrite cannot carry '?': Node sends such a name through caddy instead.
      expect(asked.headers.get(header) !== null).toBe(!(folder === 'caddy' && onDisk(name).includes('?')));
      const proxied = await fetchBytes(`http://127.0.0.1:${servers[folder]!.port}${path(folder, name)}`);
      expect(proxied.headers.get(header)).toBeNull();
      expect(proxied.headers.get('content-disposition')).toBe(asked.headers.get('content-disposition'));
    });

    for (const client of Object.keys(CLIENTS) as (keyof typeof CLIENTS)[]) {
      it.each(NAMES)(
        `%s: ${client} saves it under its name, from the app and through ${folder}`,
        async (_what, name, curlName) => {
          const source = join(sample.root, folder, onDisk(name));
          const expected = [CLIENTS[client].saves(curlName, name)];
          for (const port of [appPort, servers[folder]!.port]) {
            expect(await download(client, `http://127.0.0.1:${port}${path(folder, name)}`, source)).toEqual({
              saved: expected,
              same: true,
            });
          }
        },
      );
    }
  });
});
