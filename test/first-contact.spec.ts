import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fetchBytes, fileSha256, freePort, sha256, writeBinaryFile } from './support/servers.js';
import { slowDownload } from './support/slow-client.js';

// A newcomer's first two commands, as they run them: the sample as a process (npm run sample), with
// and without lighttpd installed, and stopped as a deploy or Ctrl-C does; and npm test's first step
// on a machine that lacks the proxies.
// "Without" is a private mount namespace with an empty /usr/sbin (we run as root, as CI does).
const BUILD = '.tmp/first-contact-build';

interface RunningSample {
  child: ChildProcess;
  output: () => string;
  appPort: number;
  proxyPort: number;
  root: string;
}

async function runSample(hideSbin: boolean, more: Record<string, string> = {}): Promise<RunningSample> {
  const root = mkdtempSync(join(tmpdir(), 'downloadview-first-'));
  const [appPort, proxyPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    PORT: String(appPort),
    PROXY_PORT: String(proxyPort),
    SAMPLE_MEDIA_ROOT: root,
    ...more,
  };
  const main = join(BUILD, 'sample', 'main.js');
  const child = hideSbin
    ? spawn('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs tmpfs /usr/sbin && exec "$0" "$1"', process.execPath, main], {
        env: { ...env, PATH: '/usr/local/bin:/usr/bin:/bin' },
      })
    : spawn(process.execPath, [main], { env });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const deadline = Date.now() + 30_000;
  while (!text.includes('Ctrl-C stops the sample')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the sample did not start:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const sample = { child, output: () => text, appPort, proxyPort, root };
  started.push(sample);
  return sample;
}

const started: RunningSample[] = [];

/** The pid of the lighttpd the sample started, as it printed it (undefined: it started none). */
function lighttpdPid(sample: RunningSample): number | undefined {
  const pid = /lighttpd \(pid (\d+)\)/.exec(sample.output())?.[1];
  return pid ? Number(pid) : undefined;
}

// A test that fails half-way leaves no server behind: the sample, and its lighttpd, which runs in its
// own process group and outlives a SIGKILL of the sample (checked by name: its pid may be reused).
afterEach(() => {
  for (const sample of started.splice(0)) {
    sample.child.kill('SIGKILL');
    const pid = lighttpdPid(sample);
    if (!pid) continue;
    let name = '';
    try {
      name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      /* gone */
    }
    if (name === 'lighttpd') process.kill(pid, 'SIGKILL');
  }
});

async function stopSample(sample: RunningSample): Promise<void> {
  const exited = new Promise((resolve) => sample.child.once('exit', resolve));
  sample.child.kill('SIGINT');
  await exited;
  rmSync(sample.root, { recursive: true, force: true });
}

/**
 * Whether a new TCP connection to the port is refused. Not fetch(): its pool would keep a
 * keep-alive connection to the app open, and Node's server.close() waits for that connection, so
 * the polling itself would keep the stopping app alive.
 */
const portRefuses = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.sample.json', '--outDir', BUILD], { stdio: 'inherit' });
}, 120_000);
afterAll(() => rmSync(BUILD, { recursive: true, force: true }));

describe('npm run sample', () => {
  it('puts lighttpd in front when it is installed and shows a real delegated download', async () => {
    const sample = await runSample(false);
    try {
      const out = sample.output();
      expect(out).toContain(
        `lighttpd (pid ${lighttpdPid(sample)}) is in front of the app on http://127.0.0.1:${sample.proxyPort}`,
      );
      // The demo's three requests: through lighttpd (the bytes), what the app told lighttpd, direct.
      expect(out).toContain(
        `GET http://127.0.0.1:${sample.proxyPort}/lighttpd/optimized-by-middleware -> 200, 13 bytes "Hello world!\\n"`,
      );
      expect(out).toContain(`-> 200, 0 bytes "", X-Sendfile: ${join(sample.root, 'lighttpd', 'hello-world.txt')}`);
      expect(out).toContain(
        `GET http://127.0.0.1:${sample.appPort}/lighttpd/optimized-by-middleware -> 200, 13 bytes "Hello world!\\n"`,
      );
      // The decision log says why each one was or was not delegated.
      expect(out).toMatch(/"hello-world\.txt" delegated to lighttpd by rules\[0\]: X-Sendfile: /);
      expect(out).toMatch(/"hello-world\.txt" served by Node: mode auto: the request has no X-Sendfile-Type header/);

      // A binary file through the proxy: the bytes lighttpd sends are the file's.
      const file = join(sample.root, 'lighttpd', 'big.bin');
      writeBinaryFile(file, 1024 * 1024, 7);
      const res = await fetchBytes(`http://127.0.0.1:${sample.proxyPort}/lighttpd/files/big.bin`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-sendfile')).toBeNull();
      expect(sha256(res.body)).toBe(fileSha256(file));

      // The example the sample prints for a name that is not ASCII answers, through lighttpd.
      expect(out).toContain(`curl -OJ http://127.0.0.1:${sample.proxyPort}/lighttpd/files/report%20%C3%A9t%C3%A9.pdf`);
      const report = await fetchBytes(`http://127.0.0.1:${sample.proxyPort}/lighttpd/files/report%20%C3%A9t%C3%A9.pdf`);
      expect(report.status).toBe(200);
      expect(report.headers.get('content-type')).toBe('application/pdf');
      expect(report.headers.get('content-disposition')).toBe(
        `attachment; filename="report ete.pdf"; filename*=UTF-8''report%20%C3%A9t%C3%A9.pdf`,
      );
      expect(report.body.subarray(0, 8).toString()).toBe('%PDF-1.4');
      expect(sha256(report.body)).toBe(fileSha256(join(sample.root, 'lighttpd', 'report été.pdf')));
    } finally {
      await stopSample(sample);
    }
    // Ctrl-C stopped lighttpd with the app.
    expect(await portRefuses(sample.proxyPort)).toBe(true);
    expect(await portRefuses(sample.appPort)).toBe(true);
  }, 60_000);

  it('says lighttpd is missing and lets Node serve the files when it is not installed', async () => {
    const sample = await runSample(true);
    try {
      const out = sample.output();
      expect(out).toContain(
        'No proxy in front (lighttpd is not installed (sudo apt-get install -y lighttpd, then npm run sample again))',
      );
      expect(out).toContain(
        `GET http://127.0.0.1:${sample.appPort}/lighttpd/optimized-by-middleware -> 200, 13 bytes "Hello world!\\n"`,
      );
      expect(out).not.toContain('X-Sendfile: /');
      const res = await fetchBytes(`http://127.0.0.1:${sample.appPort}/lighttpd/files/hello-world.txt`);
      expect(res.body.toString()).toBe('Hello world!\n');
      expect(await portRefuses(sample.proxyPort)).toBe(true);
    } finally {
      await stopSample(sample);
    }
  }, 60_000);
});

describe('stopping the sample (a deploy: SIGTERM; Ctrl-C: SIGINT) with a download delegated to lighttpd in flight', () => {
  const SIZE = 24 * 1024 * 1024;

  /** Polls until `check` holds, or fails after `ms`, with what the sample printed. */
  async function until(check: () => Promise<boolean>, what: string, sample: RunningSample, ms = 15_000): Promise<void> {
    for (const deadline = Date.now() + ms; !(await check()); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; the sample printed:\n${sample.output()}`);
    }
  }

  /** The sample, a big file, and a client reading it slowly through lighttpd (about 1.6 MB/s). */
  async function slowDelegatedDownload(platform: string) {
    const sample = await runSample(false, { SAMPLE_PLATFORM: platform });
    const file = join(sample.root, 'lighttpd', 'big.bin');
    writeBinaryFile(file, SIZE, 3);
    const download = slowDownload(sample.proxyPort, '/lighttpd/files/big.bin', SIZE, 16 * 1024);
    await download.started;
    return { sample, download, hash: fileSha256(file) };
  }

  it.each([
    ['express', 'SIGTERM'],
    ['express', 'SIGINT'],
    ['fastify', 'SIGTERM'],
    ['fastify', 'SIGINT'],
  ] as const)(
    'on %s, %s: lighttpd finishes the download, whole, then the sample ends',
    async (platform, signal) => {
      const { sample, download, hash } = await slowDelegatedDownload(platform);
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        sample.child.once('exit', (_, sig) => resolve(sig)),
      );
      try {
        sample.child.kill(signal);
        // The app stops, then lighttpd closes its port: new clients are refused, the download goes on.
        await until(() => portRefuses(sample.appPort), 'the app to stop', sample);
        await until(() => portRefuses(sample.proxyPort), 'lighttpd to close its port', sample);
        expect(download.received()).toBeLessThan(SIZE);
        expect(sample.child.exitCode).toBeNull();
        download.setRate(Infinity);
        expect(await download.done).toEqual({ complete: true, received: SIZE, sha256: hash });
        // Nest re-raises the signal once lighttpd has exited.
        expect(await exited).toBe(signal);
        expect(sample.output()).toContain('lighttpd: finishing the downloads it is sending');
      } finally {
        sample.child.kill('SIGKILL');
        rmSync(sample.root, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it('a second Ctrl-C stops lighttpd at once, cutting the download', async () => {
    const { sample, download } = await slowDelegatedDownload('express');
    const exited = new Promise((resolve) => sample.child.once('exit', resolve));
    try {
      sample.child.kill('SIGINT');
      await until(() => portRefuses(sample.proxyPort), 'lighttpd to close its port', sample);
      sample.child.kill('SIGINT');
      await exited;
      const { complete, received } = await download.done;
      expect(complete).toBe(false);
      expect(received).toBeLessThan(SIZE);
    } finally {
      sample.child.kill('SIGKILL');
      rmSync(sample.root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("npm test's first step (scripts/test-servers.sh)", () => {
  it('names each missing proxy and the command that installs it, in one line each, where it cannot install', () => {
    // Not root (nobody), and /usr/sbin hidden: lighttpd, nginx and apache2 are missing.
    const run = spawnSync(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount -t tmpfs tmpfs /usr/sbin && exec setpriv --reuid=65534 --regid=65534 --clear-groups bash scripts/test-servers.sh',
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      'test servers: /usr/sbin/lighttpd is missing; install it with: sudo apt-get install -y lighttpd',
      'test servers: /usr/sbin/nginx is missing; install it with: sudo apt-get install -y nginx',
      'test servers: /usr/sbin/apache2 is missing; install it with: sudo apt-get install -y apache2',
      'test servers: the end-to-end suites run the real proxies; install the packages above, then run npm test again',
    ]);
  });

  it('passes at once where every server is installed', () => {
    const run = spawnSync('bash', ['scripts/test-servers.sh'], { encoding: 'utf8' });
    expect([run.status, run.stdout, run.stderr]).toEqual([0, '', '']);
  });
});
