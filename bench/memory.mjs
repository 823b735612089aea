#!/usr/bin/env node
// `npm run bench -- --memory` (and the last part of `npm run bench`): does the app give back what
// downloads took? One app with the module (Express, then Fastify), started with --expose-gc: warmed
// up, then 10,000 downloads Node serves (/node/1MiB.bin, the module's Node path) and 10,000 it
// delegates (/file/1MiB.bin, answered with X-Sendfile), each over a few kept-alive connections. The
// same for a Nest app without the module (/stream/, /manual/): what Node and Nest keep anyway.
// RSS is read after full collections (bench/app.ts's /stats?gc) at the start and after each half of
// each. Target: the end within 20 MiB of the start.
// Knobs: BENCH_MEMORY_REQUESTS (10,000 of each), BENCH_MEMORY_WARMUP (1,000 of each), BENCH_BUILD=0.
import { Agent, get } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appStats, freePort, prepareBench, startBenchApp, stop, waitFor } from './harness.mjs';

const REQUESTS = Number(process.env.BENCH_MEMORY_REQUESTS ?? 10_000);
const WARM_UP = Number(process.env.BENCH_MEMORY_WARMUP ?? 1_000);
const CONNECTIONS = 4;
const TARGET_MIB = 20;
export const MEMORY_FILE = '1MiB.bin';
/** The apps measured: the module's, and for comparison the least a Nest route does without it. */
const APPS = [
  { kind: 'module', platform: 'Express', served: '/node/', delegated: '/file/', target: true },
  { kind: 'module-fastify', platform: 'Fastify', served: '/node/', delegated: '/file/', target: true },
  {
    kind: 'bare',
    platform: 'Express without the module (for comparison): a plain StreamableFile, X-Sendfile set by hand',
    served: '/stream/',
    delegated: '/manual/',
    target: false,
  },
];

/** `count` GETs of `url`, over `CONNECTIONS` kept-alive connections, one request at a time on each. */
async function download(url, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const once = () =>
    new Promise((resolve, reject) => {
      get(url, { agent }, (response) => {
        response.resume();
        response.on('error', reject);
        response.on('end', () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`${url}: status ${response.statusCode}`)),
        );
      }).on('error', reject);
    });
  let started = 0;
  const connection = async () => {
    while (started < count) {
      started++;
      await once();
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  } finally {
    agent.destroy();
  }
}

const MiB = (bytes) => bytes / 2 ** 20;

/** Measures each app kind in turn; `docroot` must hold MEMORY_FILE. Resolves with the report's lines. */
export async function memoryBench(docroot) {
  const rows = [];
  for (const { kind, platform, served, delegated, target } of APPS) {
    const [port, statsPort] = [await freePort(), await freePort()];
    const app = startBenchApp(kind, port, docroot, { BENCH_STATS_PORT: String(statsPort) }, ['--expose-gc']);
    try {
      await waitFor(port);
      await waitFor(statsPort);
      const base = `http://127.0.0.1:${port}`;
      const phases = [`${base}${served}${MEMORY_FILE}`, `${base}${delegated}${MEMORY_FILE}`];
      for (const url of phases) await download(url, WARM_UP);
      const start = await appStats(statsPort, 'gc&reset');
      if (!start.collected) throw new Error(`${kind}: the app was not started with --expose-gc`);
      // Each phase in two halves, RSS read after each: a leak grows in both, a settling heap in the first.
      const checkpoints = [start];
      const seconds = [];
      for (const url of phases) {
        const began = performance.now();
        for (const half of [Math.ceil(REQUESTS / 2), Math.floor(REQUESTS / 2)]) {
          await download(url, half);
          checkpoints.push(await appStats(statsPort, 'gc'));
        }
        seconds.push((performance.now() - began) / 1000);
      }
      console.error(`memory ${platform}: RSS ${checkpoints.map((c) => MiB(c.rss).toFixed(1)).join(' → ')} MiB`);
      rows.push({ platform, checkpoints, seconds, target });
    } finally {
      await stop(app);
    }
  }
  const f = (bytes) => MiB(bytes).toFixed(1);
  const signed = (bytes) => `${bytes >= 0 ? '+' : ''}${f(bytes)}`;
  const n = (count) => count.toLocaleString('en-US');
  const lines = [
    `RSS of the app after full collections (node --expose-gc, /stats?gc): after a warm-up of ${n(WARM_UP)} of each kind, then half way through and after ${n(REQUESTS)} downloads of ${MEMORY_FILE} that Node serves (/node/, the module's Node path), then the same for ${n(REQUESTS)} it delegates (/file/, X-Sendfile); ${CONNECTIONS} kept-alive connections, direct. One run per app.`,
    '',
    '| app | RSS (MiB): start → Node-served, half / all → delegated, half / all | growth, end − start (MiB) | V8 heap used / total, start → end (MiB) | external, start → end (MiB) | peak RSS (MiB) | seconds (Node-served / delegated) | target | met? |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { platform, checkpoints, seconds, target } of rows) {
    const [start, servedHalf, served, delegatedHalf, end] = checkpoints;
    const growth = end.rss - start.rss;
    lines.push(
      `| ${platform} | ${f(start.rss)} → ${f(servedHalf.rss)} / ${f(served.rss)} → ${f(delegatedHalf.rss)} / ${f(end.rss)} | ${signed(growth)} | ${f(start.heapUsed)} / ${f(start.heapTotal)} → ${f(end.heapUsed)} / ${f(end.heapTotal)} | ${f(start.external)} → ${f(end.external)} | ${f(end.peakRss)} | ${seconds.map((s) => s.toFixed(1)).join(' / ')} | ${target ? `≤ ${TARGET_MIB} MiB | ${MiB(growth) <= TARGET_MIB ? 'yes' : 'no'}` : '— | —'} |`,
    );
  }
  return lines;
}

/** `npm run bench -- --memory`: this part alone; prints its table (docs/benchmarks.md is left as it is). */
export default async function main() {
  const { dir, docroot } = prepareBench('downloadview-memory-');
  writeFileSync(join(docroot, MEMORY_FILE), Buffer.alloc(1 << 20, 7));
  console.log((await memoryBench(docroot)).join('\n'));
  rmSync(dir, { recursive: true, force: true });
}
