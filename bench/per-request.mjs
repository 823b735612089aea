#!/usr/bin/env node
// `npm run bench:per-request`: Node's CPU per request for a few routes of ONE bench app, run in
// turn (in an order that changes each round: orderOfRound), so that the process's state favours none of them.
// Prints each route's median µs of CPU per request (min–max) and its ratio to the first route,
// round by round. With BENCH_PROFILE=DIR the app also writes a V8 CPU profile there (node
// --cpu-prof) when it ends: open it in Chrome's DevTools to see where a route's CPU goes.
// Knobs: BENCH_APP (module-fastify; see bench/app.ts), BENCH_ROUTES (/json,/file/1MiB.bin,
// /manual/1MiB.bin), BENCH_ROUNDS (7), BENCH_SECONDS (3), BENCH_BUILD=0 (dist/ as it is).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  median,
  orderOfRound,
  prepareBench,
  range,
  roundRatios,
  runBenchmark,
  startBenchApp,
  waitFor,
  warmUp,
  wrk,
  WRK,
} from './harness.mjs';

const KIND = process.env.BENCH_APP ?? 'module-fastify';
const ROUTES = (process.env.BENCH_ROUTES ?? '/json,/file/1MiB.bin,/manual/1MiB.bin').split(',');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const PROFILE = process.env.BENCH_PROFILE;

runBenchmark(async () => {
  const { docroot } = prepareBench('downloadview-per-request-');
  writeFileSync(join(docroot, '1MiB.bin'), Buffer.alloc(1 << 20, 7));
  const port = await freePort();
  // --cpu-prof writes its profile when the process exits by itself: SIGINT makes it do so.
  const nodeArgs = PROFILE
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${PROFILE}`,
        '--import',
        'data:text/javascript,process.on("SIGINT",()=>process.exit(0))',
      ]
    : [];
  const app = startBenchApp(KIND, port, docroot, {}, nodeArgs);
  await waitFor(port);
  const url = (route) => `http://127.0.0.1:${port}${route}`;
  const runs = Object.fromEntries(ROUTES.map((route) => [route, []]));
  for (const route of ROUTES) warmUp(url(route), 2);
  for (let round = 0; round < ROUNDS; round++) {
    for (const route of orderOfRound(ROUTES, round)) runs[route].push(wrk(url(route), app.pid, SECONDS));
  }
  await new Promise((resolve) => {
    app.once('exit', resolve);
    app.kill('SIGINT');
  });
  console.log(`${KIND}, ${ROUNDS} rounds of ${SECONDS} s per route (wrk ${WRK.join(' ')})`);
  for (const route of ROUTES) {
    const cpu = median(runs[route].map((run) => run.cpuPer1000 * 1000));
    const ratio = roundRatios(runs[route], runs[ROUTES[0]], 'cpuPer1000');
    console.log(`${route}: ${range(cpu, 1)} µs of CPU per request, ${range(ratio)} × ${ROUTES[0]}`);
  }
});
