import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLighttpd } from '../support/lighttpd.js';
import { freePort, writeBinaryFile, type RunningServer } from '../support/servers.js';

// `npm run soak` runs 10,000 + 10,000 downloads; the default test run a short version.
const COUNT = Number(process.env.SOAK_COUNT ?? 600);
const CONCURRENCY = 16;
const FILE_SIZE = 1024 * 1024;

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const collectGarbage = async (child: ChildProcess) => {
  child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 300));
};
/**
 * Kept-alive connections, closed by the client after 2 s idle. Node's global agent keeps them 5 s,
 * as long as lighttpd's `server.max-keep-alive-idle`, and lighttpd sends no `Keep-Alive: timeout`
 * hint for the agent to go by: a connection to lighttpd left idle through the Node-served part (5 s
 * on a loaded machine) could be closed by lighttpd just as the next part sent on it, a "socket hang
 * up" that says nothing of the app (a CI run saw one).
 */
const agent = new Agent({ keepAlive: true, timeout: 2_000 });
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** One GET; `abort` destroys it after the first body chunk. Resolves with the bytes received. */
function download(port: number, path: string, abort: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (abort) req.destroy();
      });
      res.on('end', () => resolve(received));
      res.on('close', () => resolve(received));
    });
    req.on('error', (error) => (abort ? resolve(0) : reject(error)));
    req.end();
  });
}

async function load(count: number, one: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await one(next++);
    }),
  );
}

describe(`soak: ${COUNT} Node-served downloads (a third aborted) and ${COUNT} delegated through lighttpd`, () => {
  let app: ChildProcess;
  let lighttpd: RunningServer;
  let root: string;
  let appPort: number;

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.sample.json'], { stdio: 'inherit' });
    root = mkdtempSync(join(tmpdir(), 'downloadview-soak-'));
    appPort = await freePort();
    // mode auto: hit directly, Node serves; through lighttpd (which announces X-Sendfile), lighttpd does.
    app = spawn('node', ['--expose-gc', '--import', './test/soak/gc-on-signal.mjs', '.sample-build/sample/main.js'], {
      env: {
        ...process.env,
        PORT: String(appPort),
        SAMPLE_MEDIA_ROOT: root,
        SAMPLE_LIGHTTPD: 'off',
        DOWNLOADVIEW_DEBUG: '0',
      },
      stdio: 'ignore',
    });
    for (let i = 0; i < 200; i++) {
      try {
        await download(appPort, '/lighttpd/optimized-by-middleware', false);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    writeBinaryFile(join(root, 'lighttpd', 'soak.bin'), FILE_SIZE);
    lighttpd = await startLighttpd({ appPort, docroots: [root], announce: true });
  }, 120_000);

  afterAll(async () => {
    agent.destroy();
    await lighttpd?.stop();
    app?.kill();
    rmSync(root, { recursive: true, force: true });
  });

  it('leaves no descriptor open and grows RSS by less than 20 MiB', async () => {
    const pid = app.pid!;
    // Warm up both paths so lazy start-up allocations are not counted as growth.
    await load(1000, (i) => download(appPort, '/lighttpd/files/soak.bin', i % 3 === 0));
    await load(1000, () => download(lighttpd.port, '/lighttpd/files/soak.bin', false));
    await collectGarbage(app);
    const start = { fds: fdCount(pid), rss: rssMiB(pid) };

    const started = Date.now();
    let fullNode = 0;
    await load(COUNT, async (i) => {
      const bytes = await download(appPort, '/lighttpd/files/soak.bin', i % 3 === 0);
      if (i % 3 !== 0 && bytes === FILE_SIZE) fullNode++;
    });
    const nodeSeconds = (Date.now() - started) / 1000;
    let fullDelegated = 0;
    const delegatedStart = Date.now();
    await load(COUNT, async () => {
      if ((await download(lighttpd.port, '/lighttpd/files/soak.bin', false)) === FILE_SIZE) fullDelegated++;
    });
    const delegatedSeconds = (Date.now() - delegatedStart) / 1000;

    await collectGarbage(app);
    let end = { fds: fdCount(pid), rss: rssMiB(pid) };
    for (let i = 0; i < 100 && end.fds > start.fds; i++) {
      await new Promise((r) => setTimeout(r, 50));
      end = { fds: fdCount(pid), rss: rssMiB(pid) };
    }
    console.log(
      `soak: ${COUNT} Node-served (${Math.ceil(COUNT / 3)} aborted) in ${nodeSeconds.toFixed(1)} s, ` +
        `${COUNT} delegated via lighttpd in ${delegatedSeconds.toFixed(1)} s; ` +
        `app descriptors ${start.fds} -> ${end.fds}; RSS ${start.rss.toFixed(1)} -> ${end.rss.toFixed(1)} MiB ` +
        `(+${(end.rss - start.rss).toFixed(1)} MiB)`,
    );
    expect(fullNode).toBe(COUNT - Math.ceil(COUNT / 3));
    expect(fullDelegated).toBe(COUNT);
    expect(end.fds).toBeLessThanOrEqual(start.fds);
    expect(end.rss - start.rss).toBeLessThan(20);
  }, 3_600_000);
});
