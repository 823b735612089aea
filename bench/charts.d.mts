// Types of bench/charts.mjs, for the TypeScript test that checks it (test/bench-charts.spec.ts).

/** A row of a benchmark table: its case name, and its figures by field (undefined: no figure). */
export interface ChartRow {
  label: string;
  load?: string;
  [field: string]: string | number | undefined;
}

/** A Vega-Lite specification (the charts build plain objects). */
export type ChartSpec = Record<string, unknown>;

export function renderSvg(spec: ChartSpec): Promise<string>;
export function barPanel(options: {
  title: string;
  unit: string;
  rows: ChartRow[];
  series: { field: string; name: string }[];
  format?: string;
  log?: boolean;
}): ChartSpec;
export function runChartSpec(rows: ChartRow[], subtitle?: string): ChartSpec;
export function slowChartSpec(rows: ChartRow[], subtitle?: string): ChartSpec;
export function oneProcessChartSpec(rows: ChartRow[], subtitle?: string): ChartSpec;
export function s3ChartSpec(rows: ChartRow[], subtitle?: string): ChartSpec;
export function writeChart(file: string, spec: ChartSpec): Promise<void>;
export function measuredOn(text: string): string | undefined;
export function medians(cell: string): number[];
export function markdownTables(markdown: string): { heading?: string; header: string[]; rows: string[][] }[];
export function runRowsFromDocs(markdown: string): ChartRow[];
export function slowRowsFromDocs(markdown: string, firstColumn: 'case' | 'platform: route'): ChartRow[];
export function s3RowsFromDocs(markdown: string): ChartRow[];
export function chartsFromDocs(docs?: string): Promise<void>;
