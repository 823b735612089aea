// What the benchmark scripts share: free ports, child processes they stop at the end, wrk runs
// with the Node CPU the measured process spent, and medians with their spread.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get as httpGet } from 'node:http';
import { connect, createServer } from 'node:net';

export const WRK = ['-t1', '-c16'];
const CLK_TCK = 100;
/** Every process a benchmark starts; the script kills them all when it ends. */
export const children = [];

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
export const accepts = (port) =>
  new Promise((resolve) => {
    const c = connect(port, '127.0.0.1')
      .once('connect', () => {
        c.destroy();
        resolve(true);
      })
      .once('error', () => resolve(false));
  });
export async function waitFor(port) {
  for (let i = 0; i < 200 && !(await accepts(port)); i++) await new Promise((r) => setTimeout(r, 50));
}
export function start(command, args, env = {}) {
  // BENCH_VERBOSE=1: the processes' errors on this one's stderr (a crashed app says why).
  const stdio = ['ignore', 'ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore'];
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio });
  children.push(child);
  return child;
}
/**
 * Starts the bench app (bench/app.ts, built by prepareBench()) as `kind` on `port`, serving `docroot`;
 * `nodeArgs` go to node itself (e.g. `--expose-gc`).
 */
export function startBenchApp(kind, port, docroot, env = {}, nodeArgs = []) {
  return start('node', [...nodeArgs, '.bench-build/bench/app.js'], {
    BENCH_APP: kind,
    BENCH_ROOT: docroot,
    PORT: String(port),
    ...env,
  });
}
/** Stops a process; resolves once it has exited. */
export function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  return exited;
}
export const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
};

function runWrk(args) {
  try {
    return execFileSync('wrk', args, { encoding: 'utf8' });
  } catch (error) {
    if (error.code === 'ENOENT')
      throw new Error('wrk is not installed (Debian: apt-get install wrk)', { cause: error });
    throw error;
  }
}

export function wrk(url, pid, seconds) {
  const before = pid ? cpuSeconds(pid) : 0;
  const out = runWrk([...WRK, `-d${seconds}s`, url]);
  const cpu = pid ? cpuSeconds(pid) - before : undefined;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const total = Number(/(\d+) requests in/.exec(out)[1]);
  const [, amount, unit] = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out);
  const mbps = Number(amount) * { B: 1e-6, KB: 1e-3, MB: 1, GB: 1e3 }[unit] * 1.048576;
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) throw new Error(`${url}: ${errors[1]} error responses`);
  return { rps, mbps, cpuPer1000: cpu === undefined ? undefined : (cpu / total) * 1000 };
}

/** A short wrk run to warm a case up (JIT, kept-alive connections); its failures do not count. */
export function warmUp(url, seconds) {
  if (!(seconds > 0)) return;
  try {
    runWrk([...WRK, `-d${seconds}s`, url]);
  } catch {
    // E.g. nginx's last kept-alive connection to the previous app: only the measurement counts.
  }
}

/** The bench app's /stats (BENCH_STATS_PORT): `query` e.g. 'reset' or 'gc'. */
export const appStats = (port, query = '') =>
  // A connection per call: fetch() would reuse a kept-alive one that the server may close (after its
  // 5 s keep-alive timeout) just as the next call, a wrk run later, sends on it.
  new Promise((resolve, reject) => {
    httpGet(`http://127.0.0.1:${port}/stats${query ? `?${query}` : ''}`, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });

/** The median of a list, with its spread (min–max): what a noisy machine allows one to report. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/** A figure for a report, `d` decimals, thousands separated; '—' for what is not one (a ratio to 0). */
export const fmt = (n, d = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—';

/** A median with its spread, as the tables print it: "1.07 (0.94–1.32)". */
export const range = (m, d = 2) => `${fmt(m.median, d)} (${fmt(m.min, d)}–${fmt(m.max, d)})`;

/** x/y round by round (`xs` and `ys` hold one run per round, in the same order), then their median. */
export const roundRatios = (xs, ys, field) => median(xs.map((x, i) => x[field] / ys[i][field]));

/**
 * A sign test of paired rounds, for loads too noisy for a median to settle: in how many of `n`
 * rounds x was above y (worse, for a latency), and the two-sided probability of a split at least that
 * uneven if neither were worse (each round a coin toss). p < 0.05 with most rounds worse: x is worse;
 * a high p: these rounds cannot tell the two apart. (A few lines of binomial sums: no library needed.)
 */
export function signTest(xs, ys, field) {
  const n = xs.length;
  const worse = xs.filter((x, i) => x[field] > ys[i][field]).length;
  const k = Math.max(worse, n - worse);
  let tail = 0;
  for (let i = k; i <= n; i++) tail += binomial(n, i) / 2 ** n;
  return { worse, n, p: Math.min(1, 2 * tail) };
}

function binomial(n, k) {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

/**
 * The order of `cases` (routes of one app) in round `round`: reversed in every odd round, rotated by
 * one every other round. Every two rounds, each pair runs in both orders; over the rounds, each case
 * runs first (right after the warm-up) and last. With three cases, six rounds run all six orders.
 */
export function orderOfRound(cases, round) {
  const shift = Math.floor(round / 2) % cases.length;
  const order = cases.map((_, i) => cases[(i + shift) % cases.length]);
  return round % 2 ? order.reverse() : order;
}

/**
 * nginx for a benchmark, tuned as a production config would be: one worker per core, sendfile with
 * tcp_nopush, client keepalive, descriptors of hot files cached. /static/ serves `docroot`, the rest
 * goes to the app over kept-alive connections; `locations` (internal ones) and `http` (e.g. a
 * proxy_cache_path) are added. (Until session 3 it ran one worker without tcp_nopush or the cache,
 * which served 1 MiB at 0.4× lighttpd's rate.)
 */
export function nginxConf({ dir, port, appPort, docroot, locations = '', http = '' }) {
  const base = join(dir, `nginx-${port}`);
  mkdirSync(base, { recursive: true });
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${base}/${t};`)
    .join(' ');
  const file = `${base}.conf`;
  writeFileSync(
    file,
    `daemon off; user root; worker_processes auto; pid ${base}.pid; error_log ${base}.log;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_timeout 65; keepalive_requests 10000;
  open_file_cache max=1000 inactive=60s; ${temp}
  ${http}
  upstream app { server 127.0.0.1:${appPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location /static/ { alias ${docroot}/; }
${locations}
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  return file;
}

/**
 * lighttpd for a benchmark: serves `docroot`, or, with `appPort`, proxies everything to the app
 * and honours its X-Sendfile below `docroot`. Enough descriptors for 500 slow clients (each holds a
 * socket, and an open file while lighttpd sends it).
 */
export function lighttpdConf(dir, port, docroot, appPort) {
  const proxy = appPort
    ? `proxy.server = ( "" => ( ( "host" => "127.0.0.1", "port" => ${appPort}, "x-sendfile" => "enable", "x-sendfile-docroot" => ( "${docroot}/" ) ) ) )`
    : '';
  const file = join(dir, `lighttpd-${port}.conf`);
  writeFileSync(
    file,
    `server.modules = ( "mod_proxy" )\nserver.document-root = "${docroot}"\nserver.bind = "127.0.0.1"\nserver.port = ${port}\nserver.errorlog = "${dir}/error-${port}.log"\nserver.stream-response-body = 2\nserver.max-fds = 8192\nserver.max-connections = 4096\n${proxy}\n`,
  );
  return file;
}

/**
 * What every benchmark does first: build the package and the bench app (bench/app.ts), and make a
 * temporary folder with an empty `files/` docroot. Resolves with both paths. BENCH_BUILD=0 leaves
 * dist/ as it is (e.g. while tests that use it run in the same tree): the app then runs that build.
 */
export function prepareBench(prefix) {
  if (process.env.BENCH_BUILD !== '0') execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  execFileSync('npx', ['tsc', '-p', 'tsconfig.bench.json'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const docroot = join(dir, 'files');
  mkdirSync(docroot);
  return { dir, docroot };
}

/** Runs a benchmark, reports its failure, and stops every process it started, whatever happened. */
export function runBenchmark(main) {
  main()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(() => children.forEach((c) => c.kill()));
}
