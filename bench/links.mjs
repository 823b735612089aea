#!/usr/bin/env node
// `npm run bench:links`: links the proxy checks by itself (ProxyLinkSigner; sample/nginx-signed-links.conf
// with njs, sample/lighttpd-signed-links.conf with mod_magnet), against the same proxy serving the
// same file statically with no check, and against a download delegated through Nest: wrk -t1 -c16,
// 1 MiB and 64 MiB, rounds in a rotating order, medians of the per-round ratios with their spread.
// Also counts the requests that reached the app while the links were downloaded (target: none), and
// what issuing a link costs the app (Node CPU per request of a route answering { url }, against a
// JSON route of the same process: what the link adds, at most 1.0× a JSON answer).
// Writes docs/benchmarks-links.md (BENCH_WRITE=0: not). Knobs: BENCH_SECONDS (4; 64 MiB rows 2×),
// BENCH_ROUNDS (5), BENCH_BUILD=0 (dist/ as it is).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  appStats,
  fmt,
  freePort,
  median,
  prepareBench,
  range,
  runBenchmark,
  start,
  startBenchApp,
  waitFor,
  warmUp,
  wrk,
} from './harness.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// The bench app's key (bench/app.ts): the proxies are given the same.
const KEY = { id: 'bench', secret: 'bench-secret-0123456789abcdefghijklmnopqrs' };
const SIZES = { '1MiB.bin': 1 << 20, '64MiB.bin': 64 << 20 };

/** A sample configuration with its placeholders filled in. */
const sample = (file, pairs) =>
  pairs.reduce((text, [from, to]) => text.split(from).join(to), readFileSync(join('sample', file), 'utf8'));

async function main() {
  const { dir, docroot } = prepareBench('downloadview-links-');
  for (const [name, size] of Object.entries(SIZES)) writeFileSync(join(docroot, name), Buffer.alloc(size, 7));
  const [appPort, statsPort, nginxPort, lighttpdPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const app = startBenchApp('module-nginx', appPort, docroot, { BENCH_STATS_PORT: String(statsPort) });
  mkdirSync(join(dir, 'nginx'));
  // The sample's configurations as they are, plus a static location on the same server.
  writeFileSync(
    join(dir, 'nginx.conf'),
    sample('nginx-signed-links.conf', [
      ['worker_processes 1;', 'user root;\nworker_processes 1;'],
      ['pid /tmp/nginx-signed-links.pid;', `pid ${dir}/nginx.pid;`],
      ['error_log /dev/stderr;', `error_log ${dir}/nginx.log;`],
      ['access_log off;', `access_log off;\n  client_body_temp_path ${dir}/nginx; proxy_temp_path ${dir}/nginx;`],
      [
        'listen 127.0.0.1:8081;',
        `listen 127.0.0.1:${nginxPort};\n    location /static/ { alias ${docroot}/; }\n    location /protected/ { internal; alias ${docroot}/; }`,
      ],
      ['server 127.0.0.1:3000;', `server 127.0.0.1:${appPort};`],
      ['"KEY_ID:KEY_SECRET"', `"${KEY.id}:${KEY.secret}"`],
      ['/ABSOLUTE/PATH/TO/sample/media/links/', `${docroot}/`],
      ['/ABSOLUTE/PATH/TO/sample/', `${process.cwd()}/sample/`],
    ]),
  );
  writeFileSync(
    join(dir, 'links.lua'),
    sample('lighttpd-signed-links.lua', [['  ["KEY_ID"] = "KEY_SECRET",', `  ["${KEY.id}"] = "${KEY.secret}",`]]),
  );
  writeFileSync(
    join(dir, 'lighttpd.conf'),
    sample('lighttpd-signed-links.conf', [
      ['server.port = 8080', `server.port = ${lighttpdPort}\nserver.errorlog = "${dir}/lighttpd.log"`],
      ['"port" => 3000', `"port" => ${appPort}`],
      [
        '$HTTP["url"] =~ "^/links/" {',
        `$HTTP["url"] =~ "^/static/" { alias.url = ( "/static/" => "${docroot}/" ) }\nelse $HTTP["url"] =~ "^/links/" {`,
      ],
      ['/ABSOLUTE/PATH/TO/sample/lighttpd-signed-links.lua', join(dir, 'links.lua')],
      ['/ABSOLUTE/PATH/TO/sample/media/links/', `${docroot}/`],
    ]),
  );
  start('nginx', ['-c', join(dir, 'nginx.conf')]);
  start('lighttpd', ['-D', '-f', join(dir, 'lighttpd.conf')]);
  for (const port of [appPort, statsPort, nginxPort, lighttpdPort]) await waitFor(port);

  // The links, issued by the app itself (GET /link/:name answers { url }).
  const linkOf = async (name) => (await (await fetch(`http://127.0.0.1:${appPort}/link/${name}`)).json()).url;
  const rows = [];
  let appRequestsDuringLinks = 0;
  for (const [file, size] of Object.entries(SIZES)) {
    const link = await linkOf(file);
    const cases = {
      'nginx, static': `http://127.0.0.1:${nginxPort}/static/${file}`,
      'nginx, link checked by njs': `http://127.0.0.1:${nginxPort}${link}`,
      'nginx, delegated through Nest (X-Accel-Redirect)': `http://127.0.0.1:${nginxPort}/file/${file}`,
      'lighttpd, static': `http://127.0.0.1:${lighttpdPort}/static/${file}`,
      'lighttpd, link checked by mod_magnet': `http://127.0.0.1:${lighttpdPort}${link}`,
    };
    for (const [name, url] of Object.entries(cases)) {
      const got = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url], {
        encoding: 'utf8',
      });
      if (got !== `200 ${size}`) throw new Error(`${name}: ${got}`);
      warmUp(url, 1);
    }
    const names = Object.keys(cases);
    const runs = Object.fromEntries(names.map((name) => [name, []]));
    const seconds = size > 1 << 20 ? 2 * SECONDS : SECONDS;
    for (let round = 0; round < ROUNDS; round++) {
      const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
      for (const name of order) {
        const before = (await appStats(statsPort)).requests;
        runs[name].push(wrk(cases[name], undefined, seconds));
        if (name.includes('link')) appRequestsDuringLinks += (await appStats(statsPort)).requests - before;
      }
    }
    const rps = (name) => median(runs[name].map((r) => r.rps));
    const ratio = (a, b) => median(runs[a].map((r, i) => r.rps / runs[b][i].rps));
    rows.push({ file, names, rps, ratio });
  }

  // Issuing a link: Node CPU per request, against a JSON route of the same process, interleaved.
  const issue = { link: [], json: [] };
  const issueUrls = { link: `http://127.0.0.1:${appPort}/link/1MiB.bin`, json: `http://127.0.0.1:${appPort}/json` };
  for (const url of Object.values(issueUrls)) warmUp(url, 1);
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 ? ['link', 'json'] : ['json', 'link'])
      issue[name].push(wrk(issueUrls[name], app.pid, SECONDS));
  }
  const issueCpu = median(issue.link.map((r, i) => r.cpuPer1000 / issue.json[i].cpuPer1000));

  const check = (ok) => (ok ? 'met' : '**missed**');
  const lines = ['| | req/s, median (min–max) | ÷ the same proxy, static | target |', '|---|---|---|---|'];
  for (const { file, names, rps, ratio } of rows) {
    for (const name of names) {
      const proxy = name.split(',')[0];
      const isLink = name.includes('link');
      const vsStatic = name.includes('static') ? '1' : range(ratio(name, `${proxy}, static`));
      // Judged on the figure shown (two decimals), as a reader would.
      const target = isLink
        ? `≥ 0.95: ${check(Number(ratio(name, `${proxy}, static`).median.toFixed(2)) >= 0.95)}`
        : '';
      lines.push(`| ${file} · ${name} | ${range(rps(name), 0)} | ${vsStatic} | ${target} |`);
    }
  }
  const table = lines.join('\n');
  const extra = [
    `- Requests that reached the app while the links were downloaded: **${appRequestsDuringLinks}** (target 0: ${check(appRequestsDuringLinks === 0)}).`,
    // The route is a JSON answer too: what issuing the link adds is the ratio less one.
    `- Issuing a link (a route answering \`{ url: links.url(name) }\`): Node CPU per request ${range(issueCpu)}× a JSON route of the same app (${fmt(median(issue.link.map((r) => r.cpuPer1000)).median * 1000, 0)} µs against ${fmt(median(issue.json.map((r) => r.cpuPer1000)).median * 1000, 0)} µs), so the link itself adds ${fmt(issueCpu.median - 1, 2)}× a JSON answer's CPU (target: at most 1.0× a JSON answer: ${check(issueCpu.median - 1 <= 1)}).`,
  ].join('\n');
  console.log(`${table}\n\n${extra}`);
  if (process.env.BENCH_WRITE !== '0') {
    writeFileSync(
      'docs/benchmarks-links.md',
      `# Benchmarks: links the proxy checks by itself

\`npm run bench:links\` (bench/links.mjs) on ${cpus().length} × ${cpus()[0].model.trim()}, ${fmt(totalmem() / 2 ** 30, 0)} GiB,
Node ${process.version}, loopback, wrk -t1 -c16 for ${SECONDS} s (64 MiB: ${2 * SECONDS} s), ${ROUNDS} rounds in a
rotating order; ratios are taken round by round, then their median (min–max). The proxies run the
sample's configurations (sample/nginx-signed-links.conf with njs, sample/lighttpd-signed-links.conf
with mod_magnet), a static location added beside the links.

${table}

${extra}
`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

runBenchmark(main);
