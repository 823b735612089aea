// `npm run bench -- --slow-clients`: what a proxy in front buys when many slow clients hold large
// downloads. For each way of serving a 64 MiB file, N clients (bench/slow-clients.mjs, own process)
// download it at a capped rate while a JSON route of the same app is probed at a fixed rate
// (bench/probe.mjs, own process). Reports JSON p50/p99 idle and under load, the app's RSS, CPU and
// event-loop delay (bench/app.ts's stats port), when the last client had its first byte, and failed
// downloads; medians of interleaved rounds. Writes docs/benchmarks-slow.md.
// Two parts (SLOW_PARTS, both by default):
// - `separate`: each way of serving in its own app, a fresh one per measurement;
// - `one-process`: the module's Node path (/node/) and a plain StreamableFile (/stream/) as routes of
//   ONE app (a fresh one per round and load, on Express and on Fastify), the loads run against each
//   route in turn, in both orders every two rounds (orderOfRound); ratios taken round by round.
// Knobs (for a quick check): BENCH_ROUNDS (5), SLOW_IDLE_SECONDS (5), SLOW_LOAD_SECONDS (12),
// SLOW_CLIENTS ('100@1024,500@256': clients@KiB/s), SLOW_PARTS (a run of one part only prints),
// BENCH_WRITE=0, BENCH_BUILD=0.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { measuredOn, oneProcessChartSpec, slowChartSpec, writeChart } from './charts.mjs';
import {
  appStats,
  fmt,
  children,
  freePort,
  lighttpdConf,
  median,
  nginxConf,
  prepareBench,
  orderOfRound,
  roundRatios,
  signTest,
  start,
  startBenchApp,
  stop,
  waitFor,
} from './harness.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const IDLE_SECONDS = Number(process.env.SLOW_IDLE_SECONDS ?? 5);
const LOAD_SECONDS = Number(process.env.SLOW_LOAD_SECONDS ?? 12);
const PROBE_RATE = 100;
// clients@KiB/s. 500 clients at 1 MiB/s would be 500 MiB/s, which on this 2-core machine leaves the
// load generator and the app fighting for the CPU: the rate is lowered so that both loads move about
// the same 100–125 MiB/s, and 500 measures many connections rather than the machine's ceiling.
const LOADS = (process.env.SLOW_CLIENTS ?? '100@1024,500@256').split(',').map((load) => {
  const [clients, kib] = load.split('@').map(Number);
  return { clients, rate: kib * 1024 };
});
const FILE = '64MiB.bin';
const PARTS = (process.env.SLOW_PARTS ?? 'separate,one-process').split(',');

const CASES = [
  { key: 'lighttpd', label: 'this module, X-Sendfile through lighttpd', kind: 'module', front: 'lighttpd' },
  { key: 'nginx', label: 'this module, X-Accel-Redirect through nginx', kind: 'module-nginx', front: 'nginx' },
  { key: 'off', label: "this module, `mode: 'off'` (Node serves), direct", kind: 'module-off' },
  { key: 'stream', label: 'Nest, `StreamableFile(createReadStream(path))`, direct', kind: 'bare', path: '/stream/' },
  { key: 'nestSendFile', label: 'Nest, `@Res() res.sendFile(path)`, direct', kind: 'bare', path: '/sendfile/' },
  { key: 'express', label: 'plain Express `res.sendFile`, direct', kind: 'express' },
];
/** The one-process part: apps (`scope: 'decorated'`: /stream/ runs none of the module's code), and their routes. */
const ONE_PROCESS = [
  { platform: 'Express', kind: 'module-decorated' },
  { platform: 'Fastify', kind: 'module-decorated-fastify' },
];
const ROUTES = [
  { key: 'node', label: "this module's Node path (`/node/`, `@XSendfile({ mode: 'off' })`)", path: '/node/' },
  { key: 'stream', label: 'plain `StreamableFile(createReadStream(path))` (`/stream/`)', path: '/stream/' },
];

/** Runs a bench script in its own process; resolves with its last stdout line, parsed. */
function run(script, args, onLine) {
  const child = spawn('node', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let last;
  createInterface({ input: child.stdout }).on('line', (line) => {
    last = line;
    onLine?.(line);
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(last)) : reject(new Error(`${script} exited ${code}`)),
    ),
  );
}

/** Starts `kind` afresh with its stats port; resolves once both accept connections. */
async function startApp(kind, ports, docroot) {
  const app = startBenchApp(kind, ports.app[kind], docroot, { BENCH_STATS_PORT: String(ports.stats) });
  await waitFor(ports.app[kind]);
  await waitFor(ports.stats);
  return app;
}

/** One load against `fileUrl` while the JSON route at `base` is probed; the app is already up. */
async function measure(base, fileUrl, { clients, rate }, ports, docroot) {
  await run('bench/probe.mjs', [`${base}/json`, String(PROBE_RATE), '2']); // warm-up
  const idle = await run('bench/probe.mjs', [`${base}/json`, String(PROBE_RATE), String(IDLE_SECONDS)]);
  const idleRss = (await appStats(ports.stats)).rss;
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  const downloads = run(
    'bench/slow-clients.mjs',
    [fileUrl, String(clients), String(rate), String(LOAD_SECONDS + 1), join(docroot, FILE)],
    (line) => line === 'ready' && ready(),
  );
  await Promise.race([isReady, downloads]);
  await appStats(ports.stats, 'reset');
  const loaded = await run('bench/probe.mjs', [`${base}/json`, String(PROBE_RATE), String(LOAD_SECONDS)]);
  const during = await appStats(ports.stats);
  const result = await downloads;
  return {
    idleP50: idle.p50,
    idleP99: idle.p99,
    p50: loaded.p50,
    p99: loaded.p99,
    p99Ratio: loaded.p99 / idle.p99,
    probeErrors: idle.errors + loaded.errors,
    idleRss: idleRss / 2 ** 20,
    rssGrowth: (during.peakRss - idleRss) / 2 ** 20,
    cpuPercent: (100 * during.cpuSeconds) / LOAD_SECONDS,
    loopP99: during.loopDelayP99,
    loopMax: during.loopDelayMax,
    failed: result.failed,
    failures: result.failures,
    startedIn: result.startedIn,
    lastFirstByte: result.lastFirstByte,
    firstByteP50: result.firstByteP50,
    mbps: (result.mebibytes * 1.048576) / result.seconds,
  };
}

async function main() {
  const { dir, docroot } = prepareBench('downloadview-slow-');
  // Random bytes: the clients compare every chunk with the file, so a misplaced one shows.
  writeFileSync(join(docroot, FILE), randomBytes(64 << 20));
  const ports = { app: {}, stats: await freePort(), lighttpd: await freePort(), nginx: await freePort() };
  for (const kind of new Set([...CASES, ...ONE_PROCESS].map((c) => c.kind))) ports.app[kind] = await freePort();
  start('lighttpd', ['-D', '-f', lighttpdConf(dir, ports.lighttpd, docroot, ports.app.module)]);
  start('nginx', [
    '-c',
    nginxConf({
      dir,
      port: ports.nginx,
      appPort: ports.app['module-nginx'],
      docroot,
      locations: `    location /protected/ { internal; alias ${docroot}/; }`,
    }),
  ]);
  await waitFor(ports.lighttpd);
  await waitFor(ports.nginx);

  const runs = {};
  const record = (round, load, key, m) => {
    console.error(`round ${round + 1} N=${load.clients} ${key}: ${JSON.stringify(m)}`);
    (runs[`${load.clients} ${key}`] ??= []).push(m);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const load of LOADS) {
      if (PARTS.includes('separate')) {
        for (const c of CASES) {
          // A fresh app per measurement: its idle RSS is a new process's, not what the last case left.
          const app = await startApp(c.kind, ports, docroot);
          const base = `http://127.0.0.1:${c.front ? ports[c.front] : ports.app[c.kind]}`;
          record(round, load, c.key, await measure(base, `${base}${c.path ?? '/file/'}${FILE}`, load, ports, docroot));
          await stop(app);
        }
      }
      if (PARTS.includes('one-process')) {
        for (const { platform, kind } of ONE_PROCESS) {
          // One app for both routes; which goes first changes with the round (orderOfRound).
          const app = await startApp(kind, ports, docroot);
          const base = `http://127.0.0.1:${ports.app[kind]}`;
          const order = orderOfRound(ROUTES, round);
          for (const route of order) {
            const m = await measure(base, `${base}${route.path}${FILE}`, load, ports, docroot);
            record(round, load, `${platform} ${route.key}`, { ...m, first: route === order[0] });
          }
          await stop(app);
        }
      }
    }
  }

  const f = fmt;
  const mid = (list, field, d) => {
    const m = median(list.map((r) => r[field]));
    return m.min === m.max ? f(m.median, d) : `${f(m.median, d)} (${f(m.min, d)}–${f(m.max, d)})`;
  };
  /** Failed downloads over all rounds, with their reasons. */
  const failedOf = (list, clients) => {
    const failed = list.reduce((sum, r) => sum + r.failed, 0);
    const reasons = {};
    for (const r of list) for (const [why, n] of Object.entries(r.failures)) reasons[why] = (reasons[why] ?? 0) + n;
    const why = failed
      ? ` (${Object.entries(reasons)
          .map(([w, n]) => `${n} ${w}`)
          .join(', ')})`
      : '';
    return `${failed} of ${clients * list.length}${why}`;
  };
  const lines = [];
  /** The tables' rows as numbers, for their charts (docs/benchmarks-slow.svg, -one-process.svg). */
  const chartRows = { separate: [], oneProcess: [] };
  const chartRow = (load, label, list) => ({
    load,
    label,
    p99Idle: median(list.map((r) => r.idleP99)).median,
    p99Load: median(list.map((r) => r.p99)).median,
    cpuPercent: median(list.map((r) => r.cpuPercent)).median,
    rssGrowth: median(list.map((r) => r.rssGrowth)).median,
  });
  for (const { clients, rate } of LOADS) {
    const load = `${clients} clients at ${f(rate / 1024)} KiB/s each`;
    lines.push('', `### ${load}`);
    if (PARTS.includes('separate')) {
      lines.push(
        '',
        'Each way of serving in its own app (a fresh one per measurement).',
        '',
        "| case | JSON p50 idle → load (ms) | JSON p99 idle → load (ms) | p99 load / idle | Node RSS idle, growth (MiB) | Node CPU (% of a core) | event-loop delay p99 / max (ms) | last client's headers / first byte (s) | failed downloads (of all rounds) | MB/s delivered |",
        '|---|---|---|---|---|---|---|---|---|---|',
      );
      for (const c of CASES) {
        const list = runs[`${clients} ${c.key}`];
        chartRows.separate.push(chartRow(load, c.label, list));
        lines.push(
          `| ${c.label} | ${mid(list, 'idleP50', 2)} → ${mid(list, 'p50', 2)} | ${mid(list, 'idleP99', 2)} → ${mid(list, 'p99', 2)} | ${mid(list, 'p99Ratio', 2)} | ${mid(list, 'idleRss')}, +${mid(list, 'rssGrowth')} | ${mid(list, 'cpuPercent')} | ${mid(list, 'loopP99', 1)} / ${mid(list, 'loopMax', 1)} | ${mid(list, 'startedIn', 1)} / ${mid(list, 'lastFirstByte', 1)} | ${failedOf(list, clients)} | ${mid(list, 'mbps')} |`,
        );
      }
    }
    if (PARTS.includes('one-process')) {
      lines.push(
        '',
        'The same load against two routes of ONE app (a fresh app per round and load, both routes measured in it, one after the other, in both orders every two rounds).',
        '',
        "| platform: route | JSON p50 idle → load (ms) | JSON p99 idle → load (ms) | p99 load / idle | Node CPU (% of a core) | event-loop delay p99 / max (ms) | last client's headers / first byte (s) | a client's first byte, median (s) | failed downloads (of all rounds) | MB/s delivered |",
        '|---|---|---|---|---|---|---|---|---|---|',
      );
      for (const { platform } of ONE_PROCESS) {
        for (const route of ROUTES) {
          const list = runs[`${clients} ${platform} ${route.key}`];
          chartRows.oneProcess.push(chartRow(load, `${platform}: ${route.label}`, list));
          lines.push(
            `| ${platform}: ${route.label} | ${mid(list, 'idleP50', 2)} → ${mid(list, 'p50', 2)} | ${mid(list, 'idleP99', 2)} → ${mid(list, 'p99', 2)} | ${mid(list, 'p99Ratio', 2)} | ${mid(list, 'cpuPercent')} | ${mid(list, 'loopP99', 1)} / ${mid(list, 'loopMax', 1)} | ${mid(list, 'startedIn', 1)} / ${mid(list, 'lastFirstByte', 1)} | ${mid(list, 'firstByteP50', 2)} | ${failedOf(list, clients)} | ${mid(list, 'mbps')} |`,
          );
        }
      }
      lines.push(
        '',
        "| ratio, the module's Node path / plain StreamableFile, round by round; sign test (p: the chance of a split this uneven if neither route were worse) | JSON p99 under load | last client's first byte | target |",
        '|---|---|---|---|',
      );
      for (const { platform } of ONE_PROCESS) {
        const [node, stream] = ROUTES.map((route) => runs[`${clients} ${platform} ${route.key}`]);
        const ratio = (field) => {
          const m = roundRatios(node, stream, field);
          const sign = signTest(node, stream, field);
          return `${f(m.median, 2)} (${f(m.min, 2)}–${f(m.max, 2)}); worse in ${sign.worse} of ${sign.n} rounds, p = ${f(sign.p, 2)}`;
        };
        lines.push(`| ${platform} | ${ratio('p99')} | ${ratio('lastFirstByte')} | ≤ 1.0 (no worse) |`);
      }
    }
  }
  const header =
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. ` +
    `Each measurement: ${IDLE_SECONDS} s of JSON probes at ${PROBE_RATE} req/s idle, then the same for ${LOAD_SECONDS} s while the clients download a 64 MiB file of random bytes ` +
    `(each client compares every byte with the file). Medians of ${ROUNDS} interleaved rounds, (min–max) where they differ. ` +
    "The last client's headers and first byte are timed from when the first client was opened (they are opened 50 at a time, 20 ms apart), the median client's first byte from when it was opened. " +
    'Targets for delegation: JSON p99 under load ≤ 1.5× idle, RSS growth ≤ 50 MiB, 0 failed downloads.';
  const report = `${header}\n${lines.join('\n')}\n`;
  console.log(report);
  // docs/benchmarks-slow.md holds both parts: a run of one of them only prints.
  if (process.env.BENCH_WRITE !== '0' && PARTS.includes('separate') && PARTS.includes('one-process')) {
    writeFileSync(
      'docs/benchmarks-slow.md',
      `# Slow clients\n\n\`npm run bench -- --slow-clients\` (bench/slow.mjs) reproduces these, on loopback. The load generator and the JSON prober run in their own processes on the same 2 cores as the app and the proxy, so their CPU is part of the picture.\n\n${report}`,
    );
    await writeChart('docs/benchmarks-slow.svg', slowChartSpec(chartRows.separate, measuredOn(header)));
    await writeChart(
      'docs/benchmarks-slow-one-process.svg',
      oneProcessChartSpec(chartRows.oneProcess, measuredOn(header)),
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

export default main;
