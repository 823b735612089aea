import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLighttpd } from './support/lighttpd.js';
import { startNginx } from './support/nginx.js';
import { fetchBytes, fileSha256, freePort, sha256, writeBinaryFile, type RunningServer } from './support/servers.js';
import { slowDownload } from './support/slow-client.js';

// A deploy, as an orchestrator does it: SIGTERM the app while slow clients download, SIGKILL it if
// it is still there after a grace period, start it again. The downloads the proxies hold (lighttpd,
// nginx) do not notice; the ones Node sends get the app's shutdownGracePeriod, then are cut and counted.
const BUILD = '.tmp/rolling-restart-build';
// Larger than what the sockets and the proxies buffer: every download is still being sent at SIGTERM.
const SIZE = 32 * 1024 * 1024;
const NODE_SIZE = 64 * 1024 * 1024;

let root: string;
let appPort: number;
let output = '';

function startApp(): ChildProcess {
  const child = spawn(process.execPath, [join(BUILD, 'sample', 'main.js')], {
    env: {
      ...process.env,
      PORT: String(appPort),
      SAMPLE_MEDIA_ROOT: root,
      SAMPLE_LIGHTTPD: 'off',
      DOWNLOADVIEW_DEBUG: '0',
      SAMPLE_SHUTDOWN_GRACE_MS: '1000',
    },
  });
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return child;
}

async function untilUp(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const up = await fetch(`http://127.0.0.1:${appPort}/json-not-here`).then(
      () => true,
      () => false,
    );
    if (up && output.includes('Ctrl-C stops the sample')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the app did not start:\n${output}`);
}

describe('a rolling restart while slow clients download', () => {
  let app: ChildProcess;
  let lighttpd: RunningServer;
  let nginx: RunningServer;

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.sample.json', '--outDir', BUILD], { stdio: 'inherit' });
    root = mkdtempSync(join(tmpdir(), 'downloadview-restart-'));
    appPort = await freePort();
    app = startApp();
    await untilUp();
    writeBinaryFile(join(root, 'lighttpd', 'big.bin'), SIZE, 21);
    writeBinaryFile(join(root, 'nginx', 'big.bin'), SIZE, 22);
    writeBinaryFile(join(root, 'lighttpd', 'huge.bin'), NODE_SIZE, 23);
    lighttpd = await startLighttpd({ appPort, docroots: [root], announce: true });
    nginx = await startNginx({ appPort, internal: { '/nginx-optimized-by-middleware/': join(root, 'nginx') } });
  }, 120_000);
  afterAll(async () => {
    app?.kill('SIGKILL');
    await lighttpd?.stop();
    await nginx?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(BUILD, { recursive: true, force: true });
  });

  it('delegated downloads all complete, whole; Node-served ones are cut after the grace period and counted', async () => {
    // 16 KiB per 10 ms (1.6 MB/s): all of them are in flight at SIGTERM.
    const rate = 16 * 1024;
    const viaLighttpd = Array.from({ length: 20 }, () =>
      slowDownload(lighttpd.port, '/lighttpd/files/big.bin', SIZE, rate),
    );
    const viaNginx = Array.from({ length: 20 }, () => slowDownload(nginx.port, '/nginx/files/big.bin', SIZE, rate));
    const byNode = Array.from({ length: 10 }, () => slowDownload(appPort, '/lighttpd/files/huge.bin', NODE_SIZE, rate));
    const all = [...viaLighttpd, ...viaNginx, ...byNode];
    await Promise.all(all.map((d) => d.started));
    expect(all.filter((d) => d.received() >= SIZE)).toEqual([]);

    const exited = new Promise<number | null>((resolve) => app.once('exit', (code) => resolve(code)));
    app.kill('SIGTERM');
    // The orchestrator's grace period (here 3 s), then SIGKILL.
    const killer = setTimeout(() => app.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
    // The app is gone: nothing answers on its port.
    expect(
      await fetch(`http://127.0.0.1:${appPort}/`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');

    all.forEach((d) => d.setRate(Infinity));
    const [lighttpdResults, nginxResults, nodeResults] = await Promise.all(
      [viaLighttpd, viaNginx, byNode].map((group) => Promise.all(group.map((d) => d.done))),
    );
    const lighttpdHash = fileSha256(join(root, 'lighttpd', 'big.bin'));
    const nginxHash = fileSha256(join(root, 'nginx', 'big.bin'));
    expect(lighttpdResults.filter((r) => r.complete && r.sha256 === lighttpdHash)).toHaveLength(20);
    expect(nginxResults.filter((r) => r.complete && r.sha256 === nginxHash)).toHaveLength(20);
    expect(nodeResults.filter((r) => r.complete)).toHaveLength(0);
    expect(output).toContain('closed 10 downloads still running after the 1000 ms grace period');

    // Started again, on the same port: the proxies go on as before.
    output = '';
    app = startApp();
    await untilUp();
    const again = await fetchBytes(`http://127.0.0.1:${lighttpd.port}/lighttpd/files/big.bin`);
    expect(sha256(again.body)).toBe(lighttpdHash);
  }, 180_000);
});
