import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startConfiguredServer, type RunningServer } from './servers.js';

/** The sample's folder (copied beside the suites in the packed apps too). */
const SAMPLE = fileURLToPath(new URL('../../sample/', import.meta.url));

export interface LinkKey {
  id: string;
  secret: string;
}

export interface LinkProxyOptions {
  appPort: number;
  /** The media folder: the links' files are in its `links` folder. */
  root: string;
  keys: LinkKey[];
}

/** A sample file with its placeholders replaced; a placeholder that is not there fails (the sample changed). */
export function sampleFile(name: string, replacements: [string, string][]): string {
  let text = readFileSync(join(SAMPLE, name), 'utf8');
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`sample/${name} has no "${from}" any more`);
    text = text.split(from).join(to);
  }
  return text;
}

/** sample/nginx-signed-links.conf (with sample/signed-links.js), verbatim but for its placeholders. */
export function startLinkNginx(options: LinkProxyOptions): Promise<RunningServer> {
  return startSampleNginxFile(
    'nginx-signed-links.conf',
    { pid: '/tmp/nginx-signed-links.pid', listen: '127.0.0.1:8081', appPort: options.appPort },
    (dir) => [
      // Debian's default folders for request bodies may not be writable here.
      ['access_log off;', `access_log off;\n  client_body_temp_path ${dir}/body;`],
      ['"KEY_ID:KEY_SECRET"', `"${options.keys.map((k) => `${k.id}:${k.secret}`).join(' ')}"`],
      ['/ABSOLUTE/PATH/TO/sample/media/', `${options.root}/`],
      ['/ABSOLUTE/PATH/TO/sample/', SAMPLE],
    ],
  );
}

/** sample/nginx-signed-links-md5.conf (secure_link, no njs), verbatim but for its placeholders. */
export function startLinkNginxMd5(
  options: Omit<LinkProxyOptions, 'keys'> & { secret: string },
): Promise<RunningServer> {
  return startSampleNginxFile(
    'nginx-signed-links-md5.conf',
    { pid: '/tmp/nginx-signed-links-md5.pid', listen: '127.0.0.1:8082', appPort: options.appPort },
    (dir) => [
      ['access_log off;', `access_log off;\n  client_body_temp_path ${dir}/body;`],
      [' KEY_SECRET"', ` ${options.secret}"`],
      ['/ABSOLUTE/PATH/TO/sample/media/', `${options.root}/`],
    ],
  );
}

/**
 * One of the sample's nginx configurations, verbatim but for what any test must change: root as its
 * user (the test's media folder is private to root, as in test/support/nginx.ts), its pid and error
 * log in the server's folder, its port, the app's port, and `more` (its own placeholders).
 */
export function startSampleNginxFile(
  file: string,
  sample: { pid: string; listen: string; appPort: number },
  more: (dir: string) => [string, string][],
): Promise<RunningServer> {
  return startConfiguredServer({
    name: 'nginx',
    command: '/usr/sbin/nginx',
    configFile: 'nginx.conf',
    prepare: (dir) => mkdirSync(join(dir, 'body')),
    config: (dir, port) =>
      sampleFile(file, [
        ['worker_processes 1;', 'user root;\nworker_processes 1;'],
        [`pid ${sample.pid};`, `pid ${dir}/nginx.pid;`],
        ['error_log /dev/stderr;', `error_log ${dir}/error.log;`],
        [`listen ${sample.listen};`, `listen 127.0.0.1:${port};`],
        ['server 127.0.0.1:3000;', `server 127.0.0.1:${sample.appPort};`],
        ...more(dir),
      ]),
    args: (file) => ['-c', file],
    check: (file) => ['-t', '-q', '-c', file],
  });
}

/** sample/lighttpd-signed-links.conf and its Lua script, verbatim but for their placeholders. */
export function startLinkLighttpd(options: LinkProxyOptions): Promise<RunningServer> {
  return startConfiguredServer({
    name: 'lighttpd',
    command: '/usr/sbin/lighttpd',
    configFile: 'lighttpd.conf',
    prepare: (dir) =>
      writeFileSync(
        join(dir, 'lighttpd-signed-links.lua'),
        sampleFile('lighttpd-signed-links.lua', [
          ['  ["KEY_ID"] = "KEY_SECRET",', options.keys.map((k) => `  ["${k.id}"] = "${k.secret}",`).join('\n')],
        ]),
      ),
    config: (dir, port) =>
      sampleFile('lighttpd-signed-links.conf', [
        ['server.port = 8080', `server.port = ${port}\nserver.errorlog = "${dir}/error.log"`],
        ['"port" => 3000', `"port" => ${options.appPort}`],
        ['/ABSOLUTE/PATH/TO/sample/lighttpd-signed-links.lua', join(dir, 'lighttpd-signed-links.lua')],
        ['/ABSOLUTE/PATH/TO/sample/media/', `${options.root}/`],
      ]),
    args: (file) => ['-D', '-f', file],
    check: (file) => ['-t', '-f', file],
  });
}

/** sample/signed-links.Caddyfile, verbatim but for its placeholders. */
export function startLinkCaddy(options: Omit<LinkProxyOptions, 'keys'>): Promise<RunningServer> {
  return startConfiguredServer({
    name: 'caddy',
    command: '/usr/bin/caddy',
    configFile: 'Caddyfile',
    config: (_dir, port) =>
      sampleFile('signed-links.Caddyfile', [
        ['http://127.0.0.1:8083', `http://127.0.0.1:${port}`],
        ['127.0.0.1:3000', `127.0.0.1:${options.appPort}`],
        ['/ABSOLUTE/PATH/TO/sample/media/', `${options.root}/`],
      ]),
    args: (file) => ['run', '--config', file, '--adapter', 'caddyfile'],
    check: (file) => ['validate', '--config', file, '--adapter', 'caddyfile'],
  });
}
