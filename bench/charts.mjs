#!/usr/bin/env node
// The benchmarks' tables as SVG charts: Vega-Lite specifications built from the same row objects the
// bench scripts turn into Markdown (bench/run.mjs, slow.mjs, s3.mjs), compiled and rendered to SVG in
// Node (no browser, no canvas). `npm run bench:charts` (this file run directly) reads the committed
// tables in docs/ back into those rows and writes the charts, so docs/*.svg always show docs/*.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as vega from 'vega';
import * as vl from 'vega-lite';

const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2'];
/** Wide enough for the longest case names, which say what each row measures. */
const LABEL_LIMIT = 640;

/** A Vega-Lite specification rendered to SVG text. */
export async function renderSvg(spec) {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Backticks and other Markdown marks are no use in a chart. */
const plain = (label) => label.replaceAll('`', '');

/**
 * One panel of horizontal bars: a bar per row and series (`series`: [{ field, name }]), each with its
 * value written at its end. Rows without a number for a series get no bar; `log` for figures that span
 * orders of magnitude.
 */
export function barPanel({ title, unit, rows, series, format = ',.0f', log = false }) {
  const values = rows.flatMap((row) =>
    series
      .filter(({ field }) => Number.isFinite(row[field]) && (!log || row[field] > 0))
      .map(({ field, name }) => ({ label: plain(row.label), series: name, value: row[field] })),
  );
  const names = series.map(({ name }) => name);
  // A log scale has no zero: its bars start at the power of ten below the smallest figure.
  const floor = log ? 10 ** Math.floor(Math.log10(Math.min(...values.map(({ value }) => value)))) : 0;
  return {
    title: { text: title, anchor: 'start', fontSize: 12 },
    data: { values },
    width: 220,
    height: { step: stepFor(series.length), for: 'position' },
    encoding: {
      y: {
        field: 'label',
        type: 'nominal',
        sort: rows.map((row) => plain(row.label)),
        scale: { domain: rows.map((row) => plain(row.label)) },
        title: null,
        axis: { labelLimit: LABEL_LIMIT, labelFontSize: 11 },
      },
      yOffset: { field: 'series', sort: names, scale: { domain: names } },
      x: {
        field: 'value',
        type: 'quantitative',
        title: unit,
        scale: log ? { type: 'log', domainMin: floor } : { zero: true },
        axis: { format: '~s', grid: true },
      },
    },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.9 } },
        encoding: {
          ...(log ? { x2: { datum: floor } } : {}),
          color: {
            field: 'series',
            type: 'nominal',
            scale: { domain: names, range: COLORS.slice(0, names.length) },
            legend: names.length > 1 ? { title: null, orient: 'bottom' } : null,
          },
          tooltip: [{ field: 'label' }, { field: 'series' }, { field: 'value', format }],
        },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: 9 },
        encoding: { text: { field: 'value', type: 'quantitative', format } },
      },
    ],
  };
}

/** The height of a row's band for `bars` bars in it. */
const stepFor = (bars) => 12 * bars + 8;

const INDEPENDENT_COLORS = { scale: { color: 'independent' }, legend: { color: 'independent' } };

/** Panels side by side for each group of rows (e.g. each load), groups one under the other. */
function chart({ title, subtitle, groups }) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start', fontSize: 14 },
    background: 'white',
    padding: 10,
    // Room between panels for the figure written past a panel's longest bar.
    config: { view: { stroke: null }, concat: { spacing: 48 } },
    // Each panel its own colours and legend (Vega-Lite would merge them across panels).
    resolve: INDEPENDENT_COLORS,
    vconcat: groups.map(({ heading, panels }) => ({
      title: heading ? { text: heading, anchor: 'start', fontSize: 13 } : undefined,
      resolve: INDEPENDENT_COLORS,
      // The row names once, on the left: the panels' rows line up (same rows, same order, same step).
      hconcat: panels.map((panel, i) => ({
        ...panel,
        height: {
          step: stepFor(Math.max(...panels.map((p) => p.encoding.yOffset.scale.domain.length))),
          for: 'position',
        },
        encoding: i === 0 ? panel.encoding : { ...panel.encoding, y: { ...panel.encoding.y, axis: null } },
      })),
    })),
  };
}

/** The rows of each load (rows carry `load`, e.g. '100 clients at 1,024 KiB/s each'), in order. */
function byLoad(rows) {
  const loads = [...new Set(rows.map((row) => row.load))];
  return loads.map((load) => ({ load, rows: rows.filter((row) => row.load === load) }));
}

/**
 * `npm run bench` (bench/run.mjs): rows { label, rps1MiB, mbps1MiB, rps64MiB, mbps64MiB, cpu1MiB,
 * cpu64MiB } (CPU: Node's seconds per 1,000 downloads, undefined for the rows without a Node app).
 */
export function runChartSpec(rows, subtitle) {
  const bySize = (field1MiB, field64MiB) => [
    { field: field1MiB, name: '1 MiB file' },
    { field: field64MiB, name: '64 MiB file' },
  ];
  return chart({
    title: 'Fast clients on loopback: what each way of serving a file delivers, and what it costs Node',
    subtitle,
    groups: [
      {
        panels: [
          barPanel({ title: 'MB/s delivered (wrk -c16)', unit: 'MB/s', rows, series: bySize('mbps1MiB', 'mbps64MiB') }),
          barPanel({
            title: 'Node CPU s per 1,000 downloads (log scale)',
            unit: 'CPU s / 1,000',
            rows,
            series: bySize('cpu1MiB', 'cpu64MiB'),
            format: ',.2~f',
            log: true,
          }),
        ],
      },
    ],
  });
}

/** The panels both slow-client charts show for one load: the JSON route's p99, and Node's CPU. */
const loadPanels = (loadRows) => [
  barPanel({
    title: 'JSON p99 (ms), idle and under load',
    unit: 'ms',
    rows: loadRows,
    series: [
      { field: 'p99Idle', name: 'idle' },
      { field: 'p99Load', name: 'under load' },
    ],
    format: ',.1f',
  }),
  barPanel({
    title: 'Node CPU (% of a core)',
    unit: '%',
    rows: loadRows,
    series: [{ field: 'cpuPercent', name: 'Node CPU' }],
  }),
];

/**
 * `npm run bench -- --slow-clients`, each way of serving in its own app: rows { load, label, p99Idle,
 * p99Load, cpuPercent, rssGrowth }.
 */
export function slowChartSpec(rows, subtitle) {
  return chart({
    title: 'Slow clients downloading 64 MiB: the app’s JSON route, CPU and memory meanwhile',
    subtitle,
    groups: byLoad(rows).map(({ load, rows: loadRows }) => ({
      heading: load,
      panels: [
        ...loadPanels(loadRows),
        barPanel({
          title: 'Node RSS growth (MiB)',
          unit: 'MiB',
          rows: loadRows,
          series: [{ field: 'rssGrowth', name: 'RSS growth' }],
        }),
      ],
    })),
  });
}

/** The slow-client loads against two routes of one app: rows { load, label, p99Idle, p99Load, cpuPercent }. */
export function oneProcessChartSpec(rows, subtitle) {
  return chart({
    title: 'Slow clients, one app process: the module’s Node path next to a plain StreamableFile',
    subtitle,
    groups: byLoad(rows).map(({ load, rows: loadRows }) => ({
      heading: load,
      panels: [...loadPanels(loadRows)],
    })),
  });
}

/** `npm run bench:s3`: rows { label, rps, mbps, cpu } (cpu undefined where no app is measured). */
export function s3ChartSpec(rows, subtitle) {
  return chart({
    title: 'Objects in a bucket (64 MiB) on loopback',
    subtitle,
    groups: [
      {
        panels: [
          barPanel({
            title: 'requests/s (log scale)',
            unit: 'req/s',
            rows,
            series: [{ field: 'rps', name: 'req/s' }],
            format: ',.1f',
            log: true,
          }),
          barPanel({ title: 'MB/s delivered', unit: 'MB/s', rows, series: [{ field: 'mbps', name: 'MB/s' }] }),
          barPanel({
            title: 'Node CPU s per 1,000 (log scale)',
            unit: 'CPU s / 1,000',
            rows,
            series: [{ field: 'cpu', name: 'Node CPU' }],
            format: ',.3~f',
            log: true,
          }),
        ],
      },
    ],
  });
}

/** Renders `spec` and writes it to `file` (e.g. docs/benchmarks-slow.svg). */
export async function writeChart(file, spec) {
  writeFileSync(file, `${await renderSvg(spec)}\n`);
  console.error(`wrote ${file}`);
}

/** "Measured <date> on <n> cores, <n> GiB, Node <version>" from a bench's header line. */
export function measuredOn(text) {
  return /Measured \d{4}-\d{2}-\d{2} on \d+ cores, \d+ GiB, Node v\d+(?:\.\d+)*/.exec(text)?.[0];
}

// ---- The committed tables read back into the benches' rows ----

/** The first number of each part of a cell, spreads "(min–max)" left out: "9.4 (7.0–35.1) → 9.7 (8.2–17.8)" → [9.4, 9.7]. */
export function medians(cell) {
  return [...cell.replace(/\([^)]*\)/g, '').matchAll(/[+-]?\d[\d,]*(?:\.\d+)?/g)].map((m) =>
    Number(m[0].replaceAll(',', '')),
  );
}

/** Every Markdown table of a document, with the `###` heading above it: { heading, header, rows }. */
export function markdownTables(markdown) {
  const tables = [];
  let heading;
  let table;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('### ')) heading = line.slice(4).trim();
    if (!line.startsWith('|')) {
      table = undefined;
      continue;
    }
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((cell) => cell.trim());
    if (!table) tables.push((table = { heading, header: cells, rows: [] }));
    else if (!cells.every((cell) => /^-+$/.test(cell))) table.rows.push(cells);
  }
  return tables;
}

/** A table's rows as objects keyed by column header. */
const records = (table) => table.rows.map((cells) => Object.fromEntries(table.header.map((h, i) => [h, cells[i]])));

/** docs/benchmarks.md's main table as bench/run.mjs's rows. */
export function runRowsFromDocs(markdown) {
  const table = markdownTables(markdown).find((t) => t.header[1] === '1 MiB req/s');
  return records(table).map((r) => {
    const [cpu1MiB, cpu64MiB] = medians(r['Node CPU s / 1,000 (1 MiB / 64 MiB)']);
    return {
      label: r.case,
      rps1MiB: medians(r['1 MiB req/s'])[0],
      mbps1MiB: medians(r['1 MiB MB/s'])[0],
      rps64MiB: medians(r['64 MiB req/s'])[0],
      mbps64MiB: medians(r['64 MiB MB/s'])[0],
      cpu1MiB,
      cpu64MiB,
    };
  });
}

/** The slow-client tables (separate apps: first column "case"; one process: "platform: route") as rows. */
export function slowRowsFromDocs(markdown, firstColumn) {
  return markdownTables(markdown)
    .filter((t) => t.header[0] === firstColumn)
    .flatMap((t) =>
      records(t).map((r) => {
        const [p99Idle, p99Load] = medians(r['JSON p99 idle → load (ms)']);
        return {
          load: t.heading,
          label: r[firstColumn],
          p99Idle,
          p99Load,
          cpuPercent: medians(r['Node CPU (% of a core)'])[0],
          rssGrowth: r['Node RSS idle, growth (MiB)'] ? medians(r['Node RSS idle, growth (MiB)'])[1] : undefined,
        };
      }),
    );
}

/** docs/benchmarks-s3.md's table as bench/s3.mjs's rows. */
export function s3RowsFromDocs(markdown) {
  const table = markdownTables(markdown).find((t) => t.header[1] === 'req/s');
  return records(table).map((r) => ({
    label: r.case,
    rps: medians(r['req/s'])[0],
    mbps: medians(r['MB/s'])[0],
    cpu: medians(r['Node CPU s / 1,000'])[0],
  }));
}

/** Every chart, from the tables committed in docs/. */
export async function chartsFromDocs(docs = 'docs') {
  const read = (name) => readFileSync(`${docs}/${name}`, 'utf8');
  const run = read('benchmarks.md');
  await writeChart(`${docs}/benchmarks.svg`, runChartSpec(runRowsFromDocs(run), measuredOn(run)));
  const slow = read('benchmarks-slow.md');
  await writeChart(`${docs}/benchmarks-slow.svg`, slowChartSpec(slowRowsFromDocs(slow, 'case'), measuredOn(slow)));
  // A full slow-client run writes both parts into benchmarks-slow.md; the committed one-process
  // figures may still be in their own file.
  let oneProcess = slow;
  if (slowRowsFromDocs(slow, 'platform: route').length === 0) oneProcess = read('benchmarks-slow-one-process.md');
  await writeChart(
    `${docs}/benchmarks-slow-one-process.svg`,
    oneProcessChartSpec(
      slowRowsFromDocs(oneProcess, 'platform: route'),
      measuredOn(oneProcess) ?? /Printed by that command on (\d{4}-\d{2}-\d{2})[^)]*\)/.exec(oneProcess)?.[0],
    ),
  );
  const s3 = read('benchmarks-s3.md');
  await writeChart(`${docs}/benchmarks-s3.svg`, s3ChartSpec(s3RowsFromDocs(s3), measuredOn(s3)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  chartsFromDocs().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
