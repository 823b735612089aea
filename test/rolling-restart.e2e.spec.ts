import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLighttpd } from './support/lighttpd.js';
import { startNginx } from './support/nginx.js';
import { fetchBytes, fileSha256, freePort, sha256, writeBinaryFile, type RunningServer } from './support/servers.js';
import { slowDownload } from './support/slow-client.js';

// A deploy, as an orchestrator does it: SIGTERM the app while 100 slow clients download, SIGKILL
// it if it is still there after a grace period, start it again. The downloads the proxies hold
// (lighttpd, nginx) do not notice. The ones Node sends get the app's shutdownGracePeriod when the
// app has shutdown hooks (those that finish in it are whole, the rest are cut and counted), and
// are cut at once when it has none. On Express and on Fastify.
const BUILD = '.tmp/rolling-restart-build';
// Larger than what the sockets and the proxies buffer: every download is still being sent at SIGTERM
// (without shutdown hooks, the sped-up ones are all cut).
const SIZE = 32 * 1024 * 1024;
const SPED_UP_SIZE = 16 * 1024 * 1024;
const NODE_SIZE = 64 * 1024 * 1024;
// Long enough for the sped-up downloads (10 × 16 MiB, hashed by this process) to finish on a busy CI
// machine: they take about 1 s here alone, 2–5 s beside two busy cores, and a CI run once got only 1
// of 10 × 32 MiB through in 8 s. Short enough for the slow ones (64 MiB at 1.6 MB/s: 40 s) to be cut.
const GRACE_MS = 20_000;
/** The orchestrator's grace period before SIGKILL (Kubernetes: terminationGracePeriodSeconds). */
const KILL_AFTER_MS = 26_000;

let root: string;
let appPort: number;
let output = '';

function startApp(platform: string, shutdownHooks: boolean): ChildProcess {
  const child = spawn(process.execPath, [join(BUILD, 'sample', 'main.js')], {
    env: {
      ...process.env,
      PORT: String(appPort),
      SAMPLE_MEDIA_ROOT: root,
      SAMPLE_LIGHTTPD: 'off',
      SAMPLE_PLATFORM: platform,
      SAMPLE_SHUTDOWN_HOOKS: shutdownHooks ? '1' : '0',
      DOWNLOADVIEW_DEBUG: '0',
      SAMPLE_SHUTDOWN_GRACE_MS: String(GRACE_MS),
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

describe('a rolling restart while 100 slow clients download', () => {
  let app: ChildProcess | undefined;
  let lighttpd: RunningServer;
  let nginx: RunningServer;

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.sample.json', '--outDir', BUILD], { stdio: 'inherit' });
    root = mkdtempSync(join(tmpdir(), 'downloadview-restart-'));
    appPort = await freePort();
    app = startApp('express', true);
    await untilUp();
    writeBinaryFile(join(root, 'lighttpd', 'big.bin'), SIZE, 21);
    writeBinaryFile(join(root, 'nginx', 'big.bin'), SIZE, 22);
    writeBinaryFile(join(root, 'lighttpd', 'mid.bin'), SPED_UP_SIZE, 24);
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

  it.each([
    ['express', true],
    ['fastify', true],
    ['express', false],
    ['fastify', false],
  ])(
    'on %s with shutdown hooks %s: delegated downloads all complete, whole; Node-served ones as configured',
    async (platform, shutdownHooks) => {
      if (app) {
        app.kill('SIGKILL');
        await new Promise((r) => (app!.exitCode === null && app!.signalCode === null ? app!.once('exit', r) : r(0)));
      }
      output = '';
      app = startApp(platform, shutdownHooks);
      await untilUp();
      // 16 KiB per 10 ms (1.6 MB/s): all of them are in flight at SIGTERM.
      const rate = 16 * 1024;
      const viaLighttpd = Array.from({ length: 40 }, () =>
        slowDownload(lighttpd.port, '/lighttpd/files/big.bin', SIZE, rate),
      );
      const viaNginx = Array.from({ length: 40 }, () => slowDownload(nginx.port, '/nginx/files/big.bin', SIZE, rate));
      // Node-served: 10 clients that speed up at SIGTERM (they could finish within the grace period),
      // and 10 that stay slow (they cannot).
      const speedUp = Array.from({ length: 10 }, () =>
        slowDownload(appPort, '/lighttpd/files/mid.bin', SPED_UP_SIZE, rate),
      );
      const staySlow = Array.from({ length: 10 }, () =>
        slowDownload(appPort, '/lighttpd/files/huge.bin', NODE_SIZE, rate),
      );
      const all = [...viaLighttpd, ...viaNginx, ...speedUp, ...staySlow];
      expect(all).toHaveLength(100);
      await Promise.all(all.map((d) => d.started));
      expect(all.filter((d) => d.received() >= SPED_UP_SIZE)).toEqual([]);

      const running = app;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      speedUp.forEach((d) => d.setRate(Infinity));
      const killer = setTimeout(() => running.kill('SIGKILL'), KILL_AFTER_MS);
      await exited;
      clearTimeout(killer);
      // Ended by SIGTERM before the orchestrator's SIGKILL: at once without hooks; with them after the
      // drain and Nest's close (Nest then re-raises the signal).
      expect(running.signalCode).toBe('SIGTERM');
      expect(
        await fetch(`http://127.0.0.1:${appPort}/`).then(
          () => 'up',
          () => 'down',
        ),
      ).toBe('down');

      all.forEach((d) => d.setRate(Infinity));
      const [lighttpdResults, nginxResults, spedUpResults, slowResults] = await Promise.all(
        [viaLighttpd, viaNginx, speedUp, staySlow].map((group) => Promise.all(group.map((d) => d.done))),
      );
      const lighttpdHash = fileSha256(join(root, 'lighttpd', 'big.bin'));
      const nginxHash = fileSha256(join(root, 'nginx', 'big.bin'));
      expect(lighttpdResults.filter((r) => r.complete && r.sha256 === lighttpdHash)).toHaveLength(40);
      expect(nginxResults.filter((r) => r.complete && r.sha256 === nginxHash)).toHaveLength(40);
      // Never a truncated file passed off as whole: a cut download is incomplete, a complete one right.
      const midHash = fileSha256(join(root, 'lighttpd', 'mid.bin'));
      const hugeHash = fileSha256(join(root, 'lighttpd', 'huge.bin'));
      for (const r of spedUpResults) if (r.complete) expect(r.sha256).toBe(midHash);
      for (const r of slowResults) if (r.complete) expect(r.sha256).toBe(hugeHash);
      expect(slowResults.filter((r) => r.complete)).toHaveLength(0);
      if (shutdownHooks) {
        expect(spedUpResults.filter((r) => r.complete)).toHaveLength(10);
        expect(output).toContain(`closed 10 downloads still running after the ${GRACE_MS} ms grace period`);
      } else {
        expect(spedUpResults.filter((r) => r.complete)).toHaveLength(0);
        expect(output).not.toContain('shutting down');
      }

      // Started again, on the same port: the proxies go on as before.
      output = '';
      app = startApp(platform, shutdownHooks);
      await untilUp();
      const again = await fetchBytes(`http://127.0.0.1:${lighttpd.port}/lighttpd/files/big.bin`);
      expect(sha256(again.body)).toBe(lighttpdHash);
    },
    120_000,
  );
});
