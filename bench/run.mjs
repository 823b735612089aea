#!/usr/bin/env node
// `npm run bench`: side by side, on this machine, through a real lighttpd on loopback, with wrk.
// Prints req/s, MB/s, Node CPU per 1,000 requests, the ratios the project targets, and the app's RSS
// after many downloads (bench/memory.mjs); writes docs/benchmarks.md. Absolute figures are noisy
// here: compare the ratios of one run.
// The Node-served alternatives are measured twice: as routes of ONE app process (the module's
// /node/:name next to a plain StreamableFile and @Res() sendFile, in an order changed each round),
// so that the state of a process cannot favour one of them, and as separate apps, as before.
// Knobs (for a quick check): BENCH_SECONDS (5; the 64 MiB rows run 3×), BENCH_ROUNDS (5),
// BENCH_WARMUP_SECONDS (1), BENCH_MEMORY_REQUESTS (10,000), BENCH_WRITE=0 (docs left as they are),
// BENCH_BUILD=0 (dist/ as it is), BENCH_MEMORY=0 (no memory part). `npm run bench -- --memory`: the
// memory part alone.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { measuredOn, runChartSpec, writeChart } from './charts.mjs';
import memoryOnly, { memoryBench } from './memory.mjs';
import slowClients from './slow.mjs';
import {
  fmt,
  freePort,
  lighttpdConf,
  median,
  nginxConf,
  prepareBench,
  orderOfRound,
  roundRatios,
  runBenchmark,
  start,
  startBenchApp,
  stop,
  waitFor,
  warmUp,
  wrk,
  WRK,
} from './harness.mjs';

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const LONG_DURATION = 3 * DURATION;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARM_UP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);

async function main() {
  const { dir, docroot } = prepareBench('downloadview-bench-');
  for (const [name, size] of [
    ['1MiB.bin', 1 << 20],
    ['64MiB.bin', 64 << 20],
  ]) {
    writeFileSync(join(docroot, name), Buffer.alloc(size, 7));
  }
  const apps = {};
  for (const kind of [
    'module',
    'module-fastify',
    'module-nginx',
    'module-off',
    'module-off-fastify',
    'module-decorated',
    'module-decorated-fastify',
    'identity',
    'bare',
    'bare-fastify',
    'express',
  ]) {
    const port = await freePort();
    apps[kind] = { kind, port };
  }
  const startApps = async () => {
    for (const app of Object.values(apps)) {
      app.child = startBenchApp(app.kind, app.port, docroot);
    }
    for (const app of Object.values(apps)) await waitFor(app.port);
  };
  const stopApps = () => Promise.all(Object.values(apps).map(({ child }) => stop(child)));
  await startApps();
  const staticPort = await freePort();
  const delegatingPort = await freePort();
  const streamingPort = await freePort();
  const fastifyPort = await freePort();
  const nginxPort = await freePort();
  start('lighttpd', ['-D', '-f', lighttpdConf(dir, staticPort, docroot)]);
  start('lighttpd', ['-D', '-f', lighttpdConf(dir, delegatingPort, docroot, apps.module.port)]);
  start('lighttpd', ['-D', '-f', lighttpdConf(dir, streamingPort, docroot, apps.bare.port)]);
  start('lighttpd', ['-D', '-f', lighttpdConf(dir, fastifyPort, docroot, apps['module-fastify'].port)]);
  start('nginx', [
    '-c',
    nginxConf({
      dir,
      port: nginxPort,
      appPort: apps['module-nginx'].port,
      docroot,
      locations: `    location /protected/ { internal; alias ${docroot}/; }`,
    }),
  ]);
  for (const port of [staticPort, delegatingPort, streamingPort, fastifyPort, nginxPort]) await waitFor(port);

  const url = (port, path) => `http://127.0.0.1:${port}${path}`;
  const cases = [];
  /**
   * A case: `app`, the kind of app whose CPU is counted (none for a proxy serving statically);
   * `group`, for routes of one app compared with each other: they run one after the other, in an
   * order that changes each round (orderOfRound).
   */
  const measure = (key, target, app, duration = DURATION, group = undefined) =>
    cases.push({ key, target, app, duration, group, runs: [] });
  for (const file of ['1MiB.bin', '64MiB.bin']) {
    // Few 64 MiB requests fit in a run: longer runs, or one request more or less swings the figure.
    const duration = file === '64MiB.bin' ? LONG_DURATION : DURATION;
    const m = (key, target, app, group) => measure(`${file} ${key}`, target, app, duration, group);
    // One process: the module's Node path (/node/, @XSendfile({ mode: 'off' })) and what users write
    // by hand, as routes of one app (`scope: 'decorated'`: the hand-written routes run none of the
    // module's code).
    for (const [suffix, kind] of [
      ['', 'module-decorated'],
      ['Fastify', 'module-decorated-fastify'],
    ]) {
      const port = apps[kind].port;
      m(`opNode${suffix}`, url(port, `/node/${file}`), kind, `${file} ${kind}`);
      m(`opStream${suffix}`, url(port, `/stream/${file}`), kind, `${file} ${kind}`);
      m(`opSendFile${suffix}`, url(port, `/sendfile/${file}`), kind, `${file} ${kind}`);
    }
    m('a', url(staticPort, `/${file}`));
    m('b', url(delegatingPort, `/file/${file}`), 'module');
    m('bFastify', url(fastifyPort, `/file/${file}`), 'module-fastify');
    m('bManual', url(streamingPort, `/manual/${file}`), 'bare');
    m('aNginx', url(nginxPort, `/static/${file}`));
    m('bNginx', url(nginxPort, `/file/${file}`), 'module-nginx');
    m('cProxy', url(streamingPort, `/stream/${file}`), 'bare');
    m('cDirect', url(apps.bare.port, `/stream/${file}`), 'bare');
    m('nodeServed', url(apps['module-off'].port, `/file/${file}`), 'module-off');
    m('nestSendFile', url(apps.bare.port, `/sendfile/${file}`), 'bare');
    m('d', url(apps.express.port, `/file/${file}`), 'express');
    m('nodeServedFastify', url(apps['module-off-fastify'].port, `/file/${file}`), 'module-off-fastify');
    m('fastifySendFile', url(apps['bare-fastify'].port, `/sendfile/${file}`), 'bare-fastify');
    m('streamFastify', url(apps['bare-fastify'].port, `/stream/${file}`), 'bare-fastify');
  }
  // Node CPU per delegated download vs per 0-byte-ish JSON answer, both direct on the module app
  // (Express and Fastify), as routes of one process run back to back (a group), beside the same
  // X-Sendfile written by hand (/manual/: no existence or symlink check), the floor of any delegation.
  // Run apart, with other rows between them, the two drifted apart by up to 0.4 on Express.
  for (const [suffix, kind] of [
    ['', 'module'],
    ['Fastify', 'module-fastify'],
  ]) {
    const group = `per-request ${kind}`;
    measure(`delegatedDirect${suffix}`, url(apps[kind].port, '/file/1MiB.bin'), kind, DURATION, group);
    measure(`manualDirect${suffix}`, url(apps[kind].port, '/manual/1MiB.bin'), kind, DURATION, group);
    measure(`json ${kind}`, url(apps[kind].port, '/json'), kind, DURATION, group);
  }
  for (const kind of ['module-decorated', 'identity', 'bare'])
    measure(`json ${kind}`, url(apps[kind].port, '/json'), kind);
  // The cases of a round: every case in turn, those of a group together, in the round's order.
  const casesOfRound = (round) => {
    const order = [];
    for (const c of cases) {
      if (!c.group) order.push(c);
      else if (!order.some((o) => o.group === c.group))
        order.push(
          ...orderOfRound(
            cases.filter((o) => o.group === c.group),
            round,
          ),
        );
    }
    return order;
  };
  // Rounds run every case in turn, so that a noisy spell hits all of them alike; figures are the
  // medians of the rounds, and ratios are taken round by round (side by side), then their median.
  // Every round starts the apps afresh: a Node process can settle into a slower state for its whole
  // life (its heap's size, where its threads run), which interleaving alone would not even out; the
  // one-process rows are immune to that, being routes of the same process. Each case is then warmed
  // up (JIT, nginx's kept-alive connections to the new app).
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) {
      await stopApps();
      await startApps();
    }
    for (const c of casesOfRound(round)) {
      warmUp(c.target, WARM_UP);
      c.runs.push(wrk(c.target, c.app && apps[c.app].child.pid, c.duration));
    }
  }
  await stopApps();
  const memory = process.env.BENCH_MEMORY === '0' ? undefined : await memoryBench(docroot);
  const mid = (runs, key) => (runs[0][key] === undefined ? undefined : median(runs.map((r) => r[key])).median);
  const measured = Object.fromEntries(
    cases.map((c) => [
      c.key,
      { rps: mid(c.runs, 'rps'), mbps: mid(c.runs, 'mbps'), cpuPer1000: mid(c.runs, 'cpuPer1000') },
    ]),
  );
  const runsOf = Object.fromEntries(cases.map((c) => [c.key, c.runs]));
  const results = Object.fromEntries(
    ['1MiB.bin', '64MiB.bin'].map((file) => [
      file,
      Object.fromEntries(
        Object.entries(measured)
          .filter(([key]) => key.startsWith(`${file} `))
          .map(([key, value]) => [key.slice(file.length + 1), value]),
      ),
    ]),
  );
  const delegatedDirect = measured.delegatedDirect;
  const json = {
    module: measured['json module'],
    moduleFastify: measured['json module-fastify'],
    decorated: measured['json module-decorated'],
    identity: measured['json identity'],
    bare: measured['json bare'],
  };

  const f = fmt;
  const lines = [];
  lines.push(
    `| case | 1 MiB req/s | 1 MiB MB/s | 64 MiB req/s | 64 MiB MB/s | Node CPU s / 1,000 (1 MiB / 64 MiB) |`,
    '|---|---|---|---|---|---|',
  );
  /** The table's rows as numbers, for its chart (docs/benchmarks.svg). */
  const chartRows = [];
  const row = (label, key) => {
    const [s, l] = [results['1MiB.bin'][key], results['64MiB.bin'][key]];
    chartRows.push({
      label,
      rps1MiB: s.rps,
      mbps1MiB: s.mbps,
      rps64MiB: l.rps,
      mbps64MiB: l.mbps,
      cpu1MiB: s.cpuPer1000,
      cpu64MiB: l.cpuPer1000,
    });
    const cpu = s.cpuPer1000 === undefined ? '—' : `${f(s.cpuPer1000, 3)} / ${f(l.cpuPer1000, 2)}`;
    lines.push(`| ${label} | ${f(s.rps)} | ${f(s.mbps)} | ${f(l.rps, 1)} | ${f(l.mbps)} | ${cpu} |`);
  };
  row('(a) lighttpd static (ceiling)', 'a');
  row('(b) Nest + this module, X-Sendfile through lighttpd', 'b');
  row("(b) the same on Nest's Fastify platform", 'bFastify');
  row('(b0) Nest, X-Sendfile written by hand on the raw response (no module), through lighttpd', 'bManual');
  row('(a) nginx static', 'aNginx');
  row('(b) Nest + this module, X-Accel-Redirect through nginx (upstream keepalive)', 'bNginx');
  row('(c) Nest streaming (plain StreamableFile) through lighttpd', 'cProxy');
  row('(c) Nest streaming (plain StreamableFile), direct', 'cDirect');
  row('Nest + this module, mode off: Node serves the DownloadFile, direct', 'nodeServed');
  row('Nest, @Res() res.sendFile(path), direct', 'nestSendFile');
  row('(d) Express res.sendFile, direct', 'd');
  row("Nest + this module, mode off, on Nest's Fastify platform, direct", 'nodeServedFastify');
  row('Nest on Fastify, @Res() reply.sendFile (@fastify/static), direct', 'fastifySendFile');
  row('Nest on Fastify, plain StreamableFile, direct', 'streamFastify');
  row('one process (Express): Nest + this module, Node serves the DownloadFile (/node/), direct', 'opNode');
  row('one process (Express): Nest, plain StreamableFile, direct', 'opStream');
  row('one process (Express): Nest, @Res() res.sendFile(path), direct', 'opSendFile');
  row('one process (Fastify): Nest + this module, Node serves the DownloadFile (/node/), direct', 'opNodeFastify');
  row('one process (Fastify): Nest, plain StreamableFile, direct', 'opStreamFastify');
  row('one process (Fastify): Nest, @Res() reply.sendFile (@fastify/static), direct', 'opSendFileFastify');
  /** x/y round by round: median (min–max). Keys are case keys, e.g. '1MiB.bin b' or 'json module'. */
  const ratio = (x, y, field = 'rps') => {
    const m = roundRatios(runsOf[x], runsOf[y], field);
    return `${f(m.median, 2)} (${f(m.min, 2)}–${f(m.max, 2)})`;
  };
  const both = (x, y) => `${ratio(`1MiB.bin ${x}`, `1MiB.bin ${y}`)} | ${ratio(`64MiB.bin ${x}`, `64MiB.bin ${y}`)}`;
  lines.push('', '| ratio | 1 MiB | 64 MiB | target |', '|---|---|---|---|');
  lines.push(`| b/a | ${both('b', 'a')} | 1 MiB ≥ 0.60, 64 MiB ≥ 0.95 |`);
  lines.push(`| b/a on Fastify | ${both('bFastify', 'a')} | — |`);
  lines.push(`| b/a through nginx (against nginx static) | ${both('bNginx', 'aNginx')} | — |`);
  lines.push(`| b0/a: the most a Nest (Express) route gets, without the module | ${both('bManual', 'a')} | — |`);
  lines.push(`| b/b0: the module against a hand-written header | ${both('b', 'bManual')} | — |`);
  lines.push(`| c/a (through lighttpd) | ${both('cProxy', 'a')} | — |`);
  lines.push(
    '',
    'Node-served alternatives, measured two ways: as routes of one app process (this one against the others in the same process, round by round), and as separate apps, one process each (started afresh each round).',
    '',
    '| ratio (req/s) | 1 MiB | 64 MiB | target |',
    '|---|---|---|---|',
  );
  lines.push(
    `| one process (Express): Node-served DownloadFile / @Res() res.sendFile | ${both('opNode', 'opSendFile')} | ≥ 1.0 |`,
  );
  lines.push(
    `| one process (Express): Node-served DownloadFile / plain StreamableFile | ${both('opNode', 'opStream')} | ≥ 1.0 |`,
  );
  lines.push(
    `| one process (Fastify): Node-served DownloadFile / @Res() reply.sendFile | ${both('opNodeFastify', 'opSendFileFastify')} | ≥ 1.0 |`,
  );
  lines.push(
    `| one process (Fastify): Node-served DownloadFile / plain StreamableFile | ${both('opNodeFastify', 'opStreamFastify')} | ≥ 1.0 |`,
  );
  lines.push(
    `| separate processes (Express): Node-served DownloadFile (mode off) / Nest @Res() res.sendFile | ${both('nodeServed', 'nestSendFile')} | ≥ 1.0 |`,
  );
  lines.push(
    `| separate processes (Express): Node-served DownloadFile (mode off) / plain StreamableFile | ${both('nodeServed', 'cDirect')} | ≥ 1.0 |`,
  );
  lines.push(
    `| separate processes: Node-served DownloadFile (mode off) / plain Express sendFile (no Nest) | ${both('nodeServed', 'd')} | ≥ 1.0 |`,
  );
  lines.push(
    `| separate processes (Fastify): Node-served DownloadFile (mode off) / @Res() reply.sendFile | ${both('nodeServedFastify', 'fastifySendFile')} | ≥ 1.0 |`,
  );
  lines.push(
    `| separate processes (Fastify): Node-served DownloadFile (mode off) / plain StreamableFile | ${both('nodeServedFastify', 'streamFastify')} | ≥ 1.0 |`,
  );
  lines.push('', '| per-request cost on the Node side | figure | target |', '|---|---|---|');
  lines.push(
    `| JSON route req/s: no interceptor / identity interceptor / this module / this module with scope 'decorated' | ${f(json.bare.rps)} / ${f(json.identity.rps)} / ${f(json.module.rps)} / ${f(json.decorated.rps)} | — |`,
  );
  lines.push(
    `| JSON route with the module in scope 'decorated' / without the module | ${ratio('json module-decorated', 'json bare')} | ≥ 0.98 |`,
  );
  lines.push(
    `| JSON route with an identity interceptor / without any (the floor of any global interceptor) | ${ratio('json identity', 'json bare')} | — |`,
  );
  lines.push(
    `| JSON route with the module / with an identity interceptor | ${ratio('json module', 'json identity')} | ≥ 0.98 |`,
  );
  lines.push(
    `| JSON route with the module / without any interceptor (overhead) | ${ratio('json module', 'json bare')} | ≥ 0.97 |`,
  );
  lines.push(
    `| Node CPU per delegated download / per JSON response (Express, direct) | ${ratio('delegatedDirect', 'json module', 'cpuPer1000')} (${f(delegatedDirect.cpuPer1000, 3)} s vs ${f(json.module.cpuPer1000, 3)} s per 1,000) | ≤ 1.2 |`,
  );
  lines.push(
    `| Node CPU per delegated download / per JSON response (Fastify, direct) | ${ratio('delegatedDirectFastify', 'json module-fastify', 'cpuPer1000')} (${f(measured.delegatedDirectFastify.cpuPer1000, 3)} s vs ${f(json.moduleFastify.cpuPer1000, 3)} s per 1,000) | ≤ 1.2 |`,
  );
  lines.push(
    `| the same X-Sendfile written by hand, no check (/manual/) / per JSON response (Express, direct) | ${ratio('manualDirect', 'json module', 'cpuPer1000')} | — |`,
  );
  lines.push(
    `| the same X-Sendfile written by hand, no check (/manual/) / per JSON response (Fastify, direct) | ${ratio('manualDirectFastify', 'json module-fastify', 'cpuPer1000')} | — |`,
  );
  if (memory) lines.push('', '## Memory', '', ...memory);
  const header =
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
    `Node ${process.version}, lighttpd ${execFileSync('lighttpd', ['-v'], { encoding: 'utf8' }).match(/lighttpd\/([\d.]+)/)[1]}, ` +
    `wrk ${WRK.join(' ')} -d${DURATION}s (64 MiB: -d${LONG_DURATION}s), medians of ${ROUNDS} interleaved rounds (the apps started afresh for each, every case warmed up for ${WARM_UP} s; the one-process rows in an order changed each round, each pair in both orders every two rounds); ratios taken round by round: median (min–max).`;
  const report = `${header}\n\n${lines.join('\n')}\n`;
  console.log(report);
  if (process.env.BENCH_WRITE !== '0') {
    writeFileSync(
      'docs/benchmarks.md',
      `# Benchmarks\n\n\`npm run bench\` (bench/run.mjs) reproduces these: every case side by side in one run, on loopback.\nThe machine is noisy: compare ratios from one run, not absolute figures across runs.\nUnder load (many slow clients, a deploy): [benchmarks-slow.md](benchmarks-slow.md) (\`npm run bench -- --slow-clients\`); objects in a bucket: [benchmarks-s3.md](benchmarks-s3.md).\nThe rows that compare ways of serving a file from Node run twice: as routes of one app process (so that the state of a process, its heap or where its threads run, cannot favour one of them) and as separate apps, one each, started afresh every round.\n\n${report}`,
    );
    await writeChart('docs/benchmarks.svg', runChartSpec(chartRows, measuredOn(header)));
  }
  rmSync(dir, { recursive: true, force: true });
}

// `npm run bench -- --slow-clients`: the slow-client benchmark instead (bench/slow.mjs);
// `npm run bench -- --memory`: the memory part alone (bench/memory.mjs).
runBenchmark(
  process.argv.includes('--slow-clients') ? slowClients : process.argv.includes('--memory') ? memoryOnly : main,
);
