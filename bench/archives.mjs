#!/usr/bin/env node
// `npm run bench:archives`: what a zip built as it is sent (DownloadArchive) costs, against the
// targets of the archive issue, on this machine, on loopback, with curl as the client:
// - throughput of a 1 GiB archive of 1,000 files from disk, against Node streaming the same bytes as
//   one file (a plain StreamableFile), in interleaved rounds: ≥ 0.9×;
// - the app's RSS growth while it sends that archive: ≤ 32 MiB;
// - 100 slow clients downloading a 64 MiB archive at once: RSS ≤ idle + 100 MiB;
// - the time to the first byte of an archive of 10,000 entries: ≤ 200 ms.
// Writes docs/benchmarks-archives.md (BENCH_WRITE=0: not). Knobs: BENCH_ROUNDS (5), BENCH_BUILD=0
// (dist/ as it is), BENCH_SLOW_SECONDS (10).
import { execFileSync, spawn } from 'node:child_process';
import { get } from 'node:http';
import { mkdirSync, openSync, closeSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { accepts, children, fmt, freePort, median, prepareBench, range, runBenchmark, start } from './harness.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SLOW_SECONDS = Number(process.env.BENCH_SLOW_SECONDS ?? 10);
const MiB = 1 << 20;

/** `count` files of `size` bytes in `folder`, each with bytes of its own (a zip of copies would hide nothing, but be honest). */
function writeFiles(folder, count, size) {
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(folder, `${String(i).padStart(5, '0')}.bin`), block(size, i));
}
const block = (size, seed) => Buffer.alloc(size, `file ${seed} `);

/** curl's own timings of one GET, the body thrown away. */
function curl(url) {
  const out = execFileSync(
    'curl',
    ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_starttransfer} %{time_total}', url],
    {
      encoding: 'utf8',
    },
  );
  const [status, bytes, firstByte, total] = out.trim().split(' ').map(Number);
  if (status !== 200) throw new Error(`${url}: status ${status}`);
  return { bytes, firstByte, total };
}

const THROUGHPUT_MISSED = `
Why the throughput falls short: every chunk of every entry goes through yazl's streams (its CRC-32,
now Node's own \`zlib.crc32\`, and two more stream hops) before the socket, where one file is piped
straight to it; entries are read 128 KiB at a time to keep slow clients' memory down. yazl's entry
pump also rescans the entries from the first each time one ends (thejoshwolfe/yazl PR #91).
`;
const FIRST_BYTE_MISSED = `
Why the first byte is late: every entry is checked before the archive starts (a missing file must be
a 404, not a truncated archive), and \`FileSystemStorage.download()\` checks with synchronous
\`lstat\`s, one file after another.
`;

/** The app's RSS and peak RSS; a connection per call (a kept-alive one may be closed while a run lasts). */
const stats = (port, reset = false) =>
  new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${port}/stats${reset ? '?reset' : ''}`, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });

async function main() {
  const { dir, docroot } = prepareBench('downloadview-archives-');
  writeFiles(join(docroot, 'many'), 1000, MiB);
  writeFiles(join(docroot, 'slow'), 64, MiB);
  writeFiles(join(docroot, 'tiny'), 10_000, 1024);
  // The same bytes as the 1,000 files, as one file.
  const one = openSync(join(docroot, 'one.bin'), 'w');
  for (let i = 0; i < 1000; i++) writeSync(one, block(MiB, i));
  closeSync(one);

  const port = await freePort();
  const statsPort = await freePort();
  start(
    'node',
    [
      ...(process.env.BENCH_NODE_IMPORT ? ['--import', process.env.BENCH_NODE_IMPORT] : []),
      '.bench-build/bench/archives-app.js',
    ],
    {
      BENCH_ROOT: docroot,
      PORT: String(port),
      BENCH_STATS_PORT: String(statsPort),
    },
  );
  // Nest lists 11,000 files at startup here: on a busy machine, longer than harness's waitFor().
  for (const p of [port, statsPort]) {
    for (let i = 0; i < 1200 && !(await accepts(p)); i++) await new Promise((r) => setTimeout(r, 50));
  }
  const url = (path) => `http://127.0.0.1:${port}${path}`;
  curl(url('/archive/many')); // warm-up: JIT, the page cache holds the files
  curl(url('/stream/one.bin'));

  // Throughput, interleaved (the order flips every round), and the RSS growth while the archive goes.
  const archive = [];
  const stream = [];
  const growth = [];
  for (let round = 0; round < ROUNDS; round++) {
    const runArchive = async () => {
      const before = await stats(statsPort, true);
      archive.push(curl(url('/archive/many')));
      growth.push(((await stats(statsPort)).peakRss - before.rss) / MiB);
    };
    const runStream = async () => stream.push(curl(url('/stream/one.bin')));
    if (round % 2) {
      await runStream();
      await runArchive();
    } else {
      await runArchive();
      await runStream();
    }
  }
  const mbps = (run) => run.bytes / MiB / run.total;
  const ratio = median(archive.map((a, i) => mbps(a) / mbps(stream[i])));
  const archiveMbps = median(archive.map(mbps));
  const streamMbps = median(stream.map(mbps));
  const rssGrowth = median(growth);

  // The first byte of an archive of 10,000 entries (each checked on disk before it starts).
  const firstByte = median(Array.from({ length: ROUNDS }, () => curl(url('/archive/tiny')).firstByte * 1000));

  // 100 slow clients at once (256 KiB/s each) on a 64 MiB archive; bench/slow-clients.mjs checks
  // every byte against a copy of the archive taken first.
  const copy = join(dir, 'slow.zip');
  execFileSync('curl', ['-s', '-o', copy, url('/archive/slow')]);
  const idle = (await stats(statsPort, true)).rss;
  const clients = spawn(
    'node',
    ['bench/slow-clients.mjs', url('/archive/slow'), '100', String(256 * 1024), String(SLOW_SECONDS), copy],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(clients);
  let output = '';
  clients.stdout.on('data', (d) => (output += d));
  await new Promise((resolve) => clients.once('exit', resolve));
  const slow = JSON.parse(output.trim().split('\n').pop());
  const slowPeak = ((await stats(statsPort)).peakRss - idle) / MiB;

  const check = (ok) => (ok ? 'met' : '**missed**');
  const rows = [
    [
      '1 GiB archive of 1,000 files ÷ the same bytes as one file (throughput)',
      range(ratio),
      '≥ 0.9×',
      check(ratio.median >= 0.9),
    ],
    ['  archive, MiB/s', range(archiveMbps, 0), '', ''],
    ['  one file (plain StreamableFile), MiB/s', range(streamMbps, 0), '', ''],
    ['RSS growth while the 1 GiB archive is sent, MiB', range(rssGrowth, 1), '≤ 32', check(rssGrowth.median <= 32)],
    [
      `100 slow clients (256 KiB/s) on a 64 MiB archive, for ${SLOW_SECONDS} s: peak RSS over idle, MiB`,
      fmt(slowPeak, 1),
      '≤ 100',
      check(slowPeak <= 100),
    ],
    [
      '  of them failed (wrong bytes, reset, stalled)',
      `${slow.failed} of ${slow.clients}`,
      '0',
      check(slow.failed === 0),
    ],
    ['First byte of an archive of 10,000 entries, ms', range(firstByte, 0), '≤ 200', check(firstByte.median <= 200)],
  ];
  const table = [
    '| | median (min–max) | target | |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  console.log(table);
  if (process.env.BENCH_WRITE !== '0') {
    writeFileSync(
      'docs/benchmarks-archives.md',
      `# Benchmarks: zip archives built as they are sent

\`npm run bench:archives\` (bench/archives.mjs) on ${cpus().length} × ${cpus()[0].model.trim()}, ${fmt(totalmem() / 2 ** 30, 0)} GiB,
Node ${process.version}, loopback, curl as the client; ${ROUNDS} rounds, archive and single file
interleaved (the order flips every round), medians with min–max. Entries are stored (the default):
the archive's length is exact and sent as Content-Length.

${table}
${ratio.median < 0.9 ? THROUGHPUT_MISSED : ''}${firstByte.median > 200 ? FIRST_BYTE_MISSED : ''}`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

runBenchmark(main);
