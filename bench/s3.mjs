#!/usr/bin/env node
// `npm run bench:s3`: objects in a bucket, side by side on loopback (issue 13's table). A 64 MiB
// object in an S3-protocol server (@20minutes/s3rver, checking signatures) served
//   - by nginx from disk (the reference: the same bytes as a local file),
//   - by nginx from the bucket, through the app's X-Accel-Redirect (sample/nginx-s3.conf),
//   - the same with nginx's proxy_cache warm (the commented lines of that file turned on),
//   - by the bucket itself, at a signed URL (its own ceiling),
//   - by Node (mode off: GetObject streamed),
// plus the app's 302 to a signed URL (backend 'redirect'; the bytes then come from the bucket) and
// Node's CPU per delegated download (the default `checkExists: true`: a HeadObject per download,
// and with `checkExists: false`) against a JSON answer of the same app. Rounds interleave every
// case; figures are medians of the rounds with their spread (min–max), ratios taken round by round.
// Writes docs/benchmarks-s3.md.
// Knobs (for a quick check): BENCH_SECONDS (10), BENCH_SHORT_SECONDS (5: the rows the app answers
// alone), BENCH_ROUNDS (5), BENCH_WARMUP_SECONDS (1, those rows), BENCH_WRITE=0, BENCH_BUILD=0.
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { measuredOn, s3ChartSpec, writeChart } from './charts.mjs';
import {
  fmt,
  freePort,
  median,
  nginxConf,
  orderOfRound,
  prepareBench,
  roundRatios,
  runBenchmark,
  start,
  startBenchApp,
  waitFor,
  warmUp,
  wrk,
  WRK,
} from './harness.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SHORT_SECONDS = Number(process.env.BENCH_SHORT_SECONDS ?? Math.min(5, SECONDS));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARM_UP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
/** The rows the app answers alone (no body, or a JSON one): short runs, each warmed up first (JIT). */
const SHORT = ['delegated', 'delegatedUnchecked', 'json', 'jsonUnchecked', 'redirect'];
const NAME = '64MiB.bin';

/** sample/nginx-s3.conf's internal location, pointed at the bucket, its proxy_cache on or off. */
function s3Location(s3Endpoint, cache) {
  const sample = readFileSync('sample/nginx-s3.conf', 'utf8');
  let block = /# --- s3-internal: begin[^\n]*\n([\s\S]*?)# --- s3-internal: end/.exec(sample)[1];
  block = block.replace('proxy_pass http://127.0.0.1:9000/;', `proxy_pass ${s3Endpoint}/;`);
  return cache
    ? block.replace(/# (proxy_cache|proxy_cache_key|proxy_cache_valid|proxy_ignore_headers) /g, '$1 ')
    : block;
}

async function main() {
  const { dir, docroot } = prepareBench('downloadview-bench-s3-');
  const data = Buffer.alloc(64 << 20, 7);
  writeFileSync(join(docroot, NAME), data);

  // The bucket, in its own process, with the object in it.
  const s3Port = await freePort();
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  start(process.execPath, ['test/support/s3rver-main.cjs', join(dir, 's3'), 'bench'], { S3RVER_PORT: String(s3Port) });
  await waitFor(s3Port);
  const client = new S3Client({
    endpoint: s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await client.send(new PutObjectCommand({ Bucket: 'bench', Key: NAME, Body: data }));
  const signed = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bench', Key: NAME }), { expiresIn: 3600 });

  const apps = {};
  // s3-nginx-unchecked: the same as s3-nginx with checkExists: false (no HeadObject per download).
  for (const kind of ['s3-nginx', 's3-nginx-unchecked', 's3-redirect', 's3-off']) {
    const port = await freePort();
    const child = startBenchApp(kind.replace('-unchecked', ''), port, docroot, {
      S3_ENDPOINT: s3Endpoint,
      S3_CHECK_EXISTS: kind.endsWith('-unchecked') ? '0' : '1',
    });
    apps[kind] = { port, pid: child.pid };
  }
  const [nginxPort, cachedPort] = [await freePort(), await freePort()];
  for (const [port, cache] of [
    [nginxPort, false],
    [cachedPort, true],
  ]) {
    const http = `proxy_cache_path ${join(dir, `cache-${port}`)} levels=1:2 keys_zone=s3:10m max_size=1g inactive=1h use_temp_path=off;`;
    const locations = s3Location(s3Endpoint, cache);
    start('nginx', ['-c', nginxConf({ dir, port, appPort: apps['s3-nginx'].port, docroot, locations, http })]);
  }
  for (const port of [nginxPort, cachedPort, ...Object.values(apps).map((a) => a.port)]) await waitFor(port);

  const url = (port, path) => `http://127.0.0.1:${port}${path}`;
  // Warm the cache: one whole download through the caching nginx.
  await fetch(url(cachedPort, `/s3/${NAME}`)).then((res) => res.arrayBuffer());
  const cases = [
    ['disk', 'nginx serving the file from disk (reference)', url(nginxPort, `/static/${NAME}`)],
    [
      'nginx',
      'Nest + this module, nginx fetching from the bucket',
      url(nginxPort, `/s3/${NAME}`),
      apps['s3-nginx'].pid,
    ],
    ['cached', 'the same, nginx proxy_cache warm', url(cachedPort, `/s3/${NAME}`), apps['s3-nginx'].pid],
    ['bucket', 'the bucket itself, at a signed URL (its ceiling here)', signed],
    [
      'node',
      'Nest + this module, mode off: Node streams GetObject',
      url(apps['s3-off'].port, `/s3/${NAME}`),
      apps['s3-off'].pid,
    ],
    [
      'redirect',
      "Nest + this module, backend 'redirect': the 302 alone",
      url(apps['s3-redirect'].port, `/s3/${NAME}`),
      apps['s3-redirect'].pid,
    ],
    [
      'delegated',
      'the app answering X-Accel-Redirect, hit directly (default checkExists: true, a HeadObject each)',
      url(apps['s3-nginx'].port, `/s3/${NAME}`),
      apps['s3-nginx'].pid,
    ],
    [
      'delegatedUnchecked',
      'the same with checkExists: false (no HeadObject)',
      url(apps['s3-nginx-unchecked'].port, `/s3/${NAME}`),
      apps['s3-nginx-unchecked'].pid,
    ],
    ['json', 'the same app, a JSON route', url(apps['s3-nginx'].port, '/json'), apps['s3-nginx'].pid],
    [
      'jsonUnchecked',
      'the checkExists: false app, a JSON route',
      url(apps['s3-nginx-unchecked'].port, '/json'),
      apps['s3-nginx-unchecked'].pid,
    ],
  ].map(([key, label, target, pid]) => ({ key, label, target, pid, runs: [] }));
  // A delegated download and the JSON answer it is compared with run back to back, on the same app,
  // in an order that alternates by round: apart, with the bucket rows between them, they drifted.
  const pairs = { delegated: 'json', delegatedUnchecked: 'jsonUnchecked' };
  const paired = new Set(Object.values(pairs));
  const casesOfRound = (round) =>
    cases.flatMap((c) => {
      if (paired.has(c.key)) return [];
      if (!pairs[c.key]) return [c];
      return orderOfRound([c, cases.find((o) => o.key === pairs[c.key])], round);
    });
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of casesOfRound(round)) {
      const short = SHORT.includes(c.key);
      if (short) warmUp(c.target, WARM_UP);
      c.runs.push(wrk(c.target, c.pid, short ? SHORT_SECONDS : SECONDS));
    }
  }
  const stat = (c, field) => (c.runs[0][field] === undefined ? undefined : median(c.runs.map((r) => r[field])));
  const byKey = Object.fromEntries(
    cases.map((c) => [c.key, { rps: stat(c, 'rps'), mbps: stat(c, 'mbps'), cpu: stat(c, 'cpuPer1000') }]),
  );
  const f = (n, d = 1) => fmt(n, d);
  const spread = (s, d = 1) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;
  const lines = ['| case | req/s | MB/s | Node CPU s / 1,000 |', '|---|---|---|---|'];
  /** The table's rows as numbers, for its chart (docs/benchmarks-s3.svg). */
  const chartRows = cases.map((c) => ({
    label: c.label,
    rps: byKey[c.key].rps.median,
    mbps: byKey[c.key].mbps.median,
    cpu: byKey[c.key].cpu?.median,
  }));
  for (const c of cases) {
    const m = byKey[c.key];
    lines.push(`| ${c.label} | ${spread(m.rps)} | ${spread(m.mbps, 0)} | ${m.cpu ? spread(m.cpu, 3) : '—'} |`);
  }
  // Ratios per round (side by side), then their median and spread.
  const runsOf = (key) => cases.find((c) => c.key === key).runs;
  const perRound = (a, b, field = 'rps') => roundRatios(runsOf(a), runsOf(b), field);
  const cpuRatio = perRound('delegated', 'json', 'cpuPer1000');
  const cacheRatio = perRound('cached', 'disk');
  const uncheckedRatio = perRound('delegatedUnchecked', 'jsonUnchecked', 'cpuPer1000');
  lines.push('', '| ratio (per round, median and spread) | figure | target | met? |', '|---|---|---|---|');
  lines.push(
    `| Node CPU per download delegated to nginx (default checkExists: true) / per JSON response | ${spread(cpuRatio, 2)} | ≤ 1.3 | ${cpuRatio.median <= 1.3 ? 'yes' : 'no'} |`,
  );
  lines.push(
    `| the same with checkExists: false / per JSON response | ${spread(uncheckedRatio, 2)} | ≤ 1.3 | ${uncheckedRatio.median <= 1.3 ? 'yes' : 'no'} |`,
  );
  lines.push(
    `| nginx with a warm cache / nginx from disk | ${spread(cacheRatio, 2)} | ≥ 0.9 | ${cacheRatio.median >= 0.9 ? 'yes' : 'no'} |`,
  );
  lines.push(`| nginx from the bucket / the bucket itself | ${spread(perRound('nginx', 'bucket'), 2)} | — | — |`);
  lines.push(`| Node streaming / nginx from the bucket | ${spread(perRound('node', 'nginx'), 2)} | — | — |`);
  const header =
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
    `nginx ${/nginx\/([\d.]+)/.exec(spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr)?.[1] ?? '?'}` +
    `, wrk ${WRK.join(' ')} -d${SECONDS}s (${SHORT_SECONDS} s for the 302, delegated and JSON rows, each warmed up for ${WARM_UP} s first), medians of ${ROUNDS} interleaved rounds (min–max).`;
  const report = `${header}\n\n${lines.join('\n')}\n`;
  console.log(report);
  if (process.env.BENCH_WRITE !== '0') {
    writeFileSync(
      'docs/benchmarks-s3.md',
      `# Benchmarks: objects in a bucket\n\n\`npm run bench:s3\` (bench/s3.mjs) reproduces these, on loopback, against @20minutes/s3rver (a JavaScript S3 server: its own speed is the ceiling of every row that reads from it).\n\n${report}`,
    );
    await writeChart('docs/benchmarks-s3.svg', s3ChartSpec(chartRows, measuredOn(header)));
  }
  rmSync(dir, { recursive: true, force: true });
}

runBenchmark(main);
