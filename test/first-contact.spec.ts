import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchBytes, fileSha256, freePort, sha256, writeBinaryFile } from './support/servers.js';

// A newcomer's first two commands, as they run them: the sample as a process (npm run sample), with
// and without lighttpd installed, and npm test's first step on a machine that lacks the proxies.
// "Without" is a private mount namespace with an empty /usr/sbin (we run as root, as CI does).
const BUILD = '.tmp/first-contact-build';

interface RunningSample {
  child: ChildProcess;
  output: () => string;
  appPort: number;
  proxyPort: number;
  root: string;
}

async function runSample(hideSbin: boolean): Promise<RunningSample> {
  const root = mkdtempSync(join(tmpdir(), 'downloadview-first-'));
  const [appPort, proxyPort] = [await freePort(), await freePort()];
  const env = { ...process.env, PORT: String(appPort), PROXY_PORT: String(proxyPort), SAMPLE_MEDIA_ROOT: root };
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
  return { child, output: () => text, appPort, proxyPort, root };
}

async function stopSample(sample: RunningSample): Promise<void> {
  const exited = new Promise((resolve) => sample.child.once('exit', resolve));
  sample.child.kill('SIGINT');
  await exited;
  rmSync(sample.root, { recursive: true, force: true });
}

const portRefuses = async (port: number) =>
  fetch(`http://127.0.0.1:${port}/`).then(
    () => false,
    () => true,
  );

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.sample.json', '--outDir', BUILD], { stdio: 'inherit' });
}, 120_000);
afterAll(() => rmSync(BUILD, { recursive: true, force: true }));

describe('npm run sample', () => {
  it('puts lighttpd in front when it is installed and shows a real delegated download', async () => {
    const sample = await runSample(false);
    try {
      const out = sample.output();
      expect(out).toContain(`lighttpd is in front of the app on http://127.0.0.1:${sample.proxyPort}`);
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
