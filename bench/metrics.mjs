#!/usr/bin/env node
// `npm run bench:metrics`: what the `metrics` option costs. Three apps (bench/app.ts): the module
// without metrics, with `metrics: downloadMetrics()` and no OpenTelemetry SDK (the API's no-op
// meter), and with the metrics SDK and a Prometheus exporter. Each answers a JSON route and a
// delegated 1 MiB download (X-Sendfile, direct: what Node does for it); wrk -t1 -c16, every app and
// route once per round in a rotating order, ratios to the app without metrics taken round by round.
// Targets (issue #22): API without SDK ≥ 0.98×, SDK + Prometheus ≥ 0.95×, in req/s.
// Writes docs/benchmarks-metrics.md (BENCH_WRITE=0: not). Knobs: BENCH_SECONDS (3), BENCH_ROUNDS (9),
// BENCH_BUILD=0 (dist/ as it is).
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  fmt,
  freePort,
  median,
  prepareBench,
  range,
  runBenchmark,
  startBenchApp,
  stop,
  waitFor,
  warmUp,
  wrk,
} from './harness.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const APPS = [
  { kind: 'module', label: 'without metrics' },
  { kind: 'module-metrics-api', label: 'metrics, OpenTelemetry API without SDK', target: 0.98 },
  { kind: 'module-metrics-sdk', label: 'metrics, SDK + Prometheus exporter', target: 0.95 },
];
const ROUTES = [
  { path: '/json', label: 'JSON route' },
  { path: '/file/1MiB.bin', label: 'delegated download (X-Sendfile)' },
];

async function main() {
  const { docroot } = prepareBench('downloadview-metrics-');
  writeFileSync(join(docroot, '1MiB.bin'), Buffer.alloc(1 << 20, 7));
  const prometheusPort = await freePort();
  for (const app of APPS) {
    app.port = await freePort();
    app.child = startBenchApp(app.kind, app.port, docroot, { BENCH_PROMETHEUS_PORT: String(prometheusPort) });
  }
  for (const app of APPS) await waitFor(app.port);
  const cases = APPS.flatMap((app) => ROUTES.map((route) => ({ app, route, runs: [] })));
  const url = (c) => `http://127.0.0.1:${c.app.port}${c.route.path}`;
  for (const c of cases) warmUp(url(c), 1);
  for (let round = 0; round < ROUNDS; round++) {
    const shift = round % cases.length;
    for (const c of [...cases.slice(shift), ...cases.slice(0, shift)])
      c.runs.push(wrk(url(c), c.app.child.pid, SECONDS));
  }
  // The SDK's app did record: its exporter shows the module's counters.
  const scrape = await (await fetch(`http://127.0.0.1:${prometheusPort}/metrics`)).text();
  const recorded = /^downloadview_responses_total\{[^}]*\} (\d+)/m.exec(scrape);
  if (!recorded || Number(recorded[1]) === 0) throw new Error(`the SDK's app recorded no response:\n${scrape}`);
  await Promise.all(APPS.map((app) => stop(app.child)));

  const lines = [
    '| route | app | req/s | ÷ without metrics, req/s | ÷ without metrics, Node CPU per request | target |',
    '|---|---|---|---|---|---|',
  ];
  for (const route of ROUTES) {
    const base = cases.find((c) => c.route === route && c.app === APPS[0]);
    for (const app of APPS) {
      const c = cases.find((x) => x.route === route && x.app === app);
      const rps = median(c.runs.map((r) => r.rps));
      const ratio = median(c.runs.map((r, i) => r.rps / base.runs[i].rps));
      const cpu = median(c.runs.map((r, i) => r.cpuPer1000 / base.runs[i].cpuPer1000));
      const target = app.target
        ? `≥ ${app.target}: ${Number(ratio.median.toFixed(2)) >= app.target ? 'met' : '**missed**'}`
        : '';
      lines.push(
        `| ${route.label} | ${app.label} | ${range(rps, 0)} | ${app === APPS[0] ? '1' : range(ratio)} | ${app === APPS[0] ? '1' : range(cpu)} | ${target} |`,
      );
    }
  }
  const table = lines.join('\n');
  console.log(table);
  if (process.env.BENCH_WRITE !== '0') {
    writeFileSync(
      'docs/benchmarks-metrics.md',
      `# Benchmarks: what the metrics cost

\`npm run bench:metrics\` (bench/metrics.mjs) on ${cpus().length} × ${cpus()[0].model.trim()}, ${fmt(totalmem() / 2 ** 30, 0)} GiB,
Node ${process.version}, loopback, wrk -t1 -c16 for ${SECONDS} s, ${ROUNDS} rounds in a rotating order; three app
processes side by side (bench/app.ts: \`module\`, \`module-metrics-api\`, \`module-metrics-sdk\`), ratios
to the app without metrics taken round by round, then their median (min–max). Separate processes
differ by a few per cent on this machine whatever they run: the per-request Node CPU is the steadier
figure.

${table}
`,
    );
  }
}

runBenchmark(main);
