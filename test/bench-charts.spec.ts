import { readFileSync } from 'node:fs';
import {
  medians,
  renderSvg,
  runChartSpec,
  runRowsFromDocs,
  s3RowsFromDocs,
  slowChartSpec,
  slowRowsFromDocs,
  type ChartRow,
} from '../bench/charts.mjs';

// The benchmarks' charts (bench/charts.mjs): rows in, an SVG out whose bars and labels are those rows.

interface Bar {
  /** Vega's description of the bar: "<unit>: <raw>; label: <row>; series: <name>; value: <formatted>". */
  ariaLabel: string;
  /** Where it starts, from the left of its panel. */
  x: number;
  width: number;
}

/** Every bar of a Vega SVG, with its width (Vega draws a bar as "M x,y h W v H h -W Z"). */
function barsOf(svg: string): Bar[] {
  return [
    ...svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="bar" d="([^"]*)"/g),
  ].map(([, ariaLabel, d]) => {
    const [, x, width] = /^M([-\d.e]+),[-\d.e]+h([-\d.e]+)v/.exec(d) ?? [];
    if (width === undefined) throw new Error(`a bar drawn as ${d}`);
    return { ariaLabel: ariaLabel.replaceAll('&#39;', "'"), x: Number(x), width: Number(width) };
  });
}

/** The text of every <text> element (axis labels, titles, the figures written beside the bars). */
const textsOf = (svg: string) =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map(([, text]) =>
    text.replaceAll('&#39;', "'").replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>'),
  );

/** Whether every element opened is closed, in order: a truncated or garbled SVG fails. */
function wellFormed(svg: string): boolean {
  const open: string[] = [];
  for (const [tag, closing, name] of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?>/g)) {
    if (tag.endsWith('/>')) continue;
    if (!closing) open.push(name);
    else if (open.pop() !== name) return false;
  }
  return open.length === 0;
}

const bar = (bars: Bar[], label: string, series: string) =>
  bars.filter((b) => b.ariaLabel.includes(`; label: ${label}; series: ${series};`));

describe('benchmark charts', () => {
  // Two loads of the slow-client benchmark, with figures no axis would print by chance.
  const rows: ChartRow[] = [
    { load: '100 clients', label: 'through lighttpd', p99Idle: 9.44, p99Load: 9.74, cpuPercent: 21, rssGrowth: 13 },
    { load: '100 clients', label: 'Node serves', p99Idle: 6.93, p99Load: 39.28, cpuPercent: 56, rssGrowth: 58 },
    { load: '500 clients', label: 'through lighttpd', p99Idle: 8.16, p99Load: 11.09, cpuPercent: 17, rssGrowth: 12 },
    { load: '500 clients', label: 'Node serves', p99Idle: 6.29, p99Load: 30.39, cpuPercent: 53, rssGrowth: 112 },
  ];
  let svg: string;
  beforeAll(async () => {
    svg = await renderSvg(slowChartSpec(rows, 'Measured on a test machine'));
  });

  it('renders a whole SVG document', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(wellFormed(svg)).toBe(true);
    expect(svg).not.toContain('NaN');
  });

  it('draws a bar per row and figure, labelled with its number', () => {
    const bars = barsOf(svg);
    // 4 rows × (p99 idle, p99 under load, CPU, RSS growth)
    expect(bars).toHaveLength(16);
    const texts = textsOf(svg);
    for (const { label, p99Idle, p99Load, cpuPercent, rssGrowth } of rows) {
      for (const [series, value, printed] of [
        ['idle', p99Idle, (p99Idle as number).toFixed(1)],
        ['under load', p99Load, (p99Load as number).toFixed(1)],
        ['Node CPU', cpuPercent, String(cpuPercent)],
        ['RSS growth', rssGrowth, String(rssGrowth)],
      ] as const) {
        expect(bar(bars, label, series).map((b) => b.ariaLabel)).toContainEqual(
          expect.stringMatching(new RegExp(`: ${value}; label: .*; value: ${printed}$`)),
        );
        expect(texts).toContain(printed);
      }
    }
    expect(texts).toEqual(expect.arrayContaining(['through lighttpd', 'Node serves', '100 clients', '500 clients']));
  });

  it('draws bars as long as their numbers (a linear scale from zero, one per panel and load)', () => {
    const bars = barsOf(svg);
    // Every bar starts at its panel's axis (zero)...
    expect(bars.map((b) => b.x)).toEqual(bars.map(() => 0));
    // ...and in one panel, width / value is the same for every bar.
    const perPixel = (series: string[], load: number) =>
      rows
        .filter((row) => row.load === rows[load * 2].load)
        .flatMap((row) =>
          series.map((s) => {
            const field = { idle: 'p99Idle', 'under load': 'p99Load', 'Node CPU': 'cpuPercent' }[s]!;
            // The load's bars come in the order of the loads: the first match belongs to load 0.
            const width = bar(bars, row.label, s)[load].width;
            return width / (row[field] as number);
          }),
        );
    for (const load of [0, 1]) {
      for (const series of [['idle', 'under load'], ['Node CPU']]) {
        const ratios = perPixel(series, load);
        for (const ratio of ratios) expect(ratio).toBeCloseTo(ratios[0], 3);
      }
    }
    // 39.28 ms under load draws longer than 9.74 ms.
    const [lighttpd, node] = [
      bar(bars, 'through lighttpd', 'under load')[0],
      bar(bars, 'Node serves', 'under load')[0],
    ];
    expect(node.width).toBeGreaterThan(3 * lighttpd.width);
  });

  it('leaves out a figure a row does not have, and draws a log scale that spans orders of magnitude', async () => {
    const runSvg = await renderSvg(
      runChartSpec([
        { label: 'lighttpd static', mbps1MiB: 1646, mbps64MiB: 1007, cpu1MiB: undefined, cpu64MiB: undefined },
        { label: 'Node serves', mbps1MiB: 287, mbps64MiB: 292, cpu1MiB: 3.827, cpu64MiB: 241.05 },
      ]),
    );
    expect(wellFormed(runSvg)).toBe(true);
    const bars = barsOf(runSvg);
    expect(bars).toHaveLength(6); // 2 rows × 2 sizes of MB/s, and Node's CPU for the second row only
    expect(textsOf(runSvg)).toEqual(expect.arrayContaining(['1,646', '1,007', '287', '292', '3.83', '241.05']));
    const [small, large] = [bar(bars, 'Node serves', '1 MiB file'), bar(bars, 'Node serves', '64 MiB file')].map(
      (found) => found.find((b) => b.ariaLabel.startsWith('CPU'))!.width,
    );
    expect(large).toBeGreaterThan(small);
    expect(small).toBeGreaterThan(0);
  });
});

describe('the committed tables, read back for their charts', () => {
  it('reads the median out of a cell, its spread left out', () => {
    expect(medians('9.44 (7.00–35.05) → 9.74 (8.19–17.82)')).toEqual([9.44, 9.74]);
    expect(medians('121 (119–124), +21 (12–21)')).toEqual([121, 21]);
    expect(medians('1,534.8 (1,168.4–1,958.0)')).toEqual([1534.8]);
    expect(medians('—')).toEqual([]);
  });

  it('finds every row of docs/benchmarks.md, docs/benchmarks-slow.md and docs/benchmarks-s3.md', () => {
    const run = runRowsFromDocs(readFileSync('docs/benchmarks.md', 'utf8'));
    expect(run.length).toBeGreaterThanOrEqual(10);
    expect(run.every((row) => Number.isFinite(row.mbps1MiB) && Number.isFinite(row.mbps64MiB))).toBe(true);
    const slow = slowRowsFromDocs(readFileSync('docs/benchmarks-slow.md', 'utf8'), 'case');
    expect(new Set(slow.map((row) => row.load)).size).toBeGreaterThanOrEqual(2);
    expect(slow.every((row) => Number.isFinite(row.p99Idle) && Number.isFinite(row.p99Load))).toBe(true);
    const s3 = s3RowsFromDocs(readFileSync('docs/benchmarks-s3.md', 'utf8'));
    expect(s3.every((row) => Number.isFinite(row.rps))).toBe(true);
  });
});
