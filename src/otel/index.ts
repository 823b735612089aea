export { downloadMetrics, type DownloadMetricsOptions } from './download-metrics.js';
export { ATTRIBUTES as DOWNLOAD_METRIC_ATTRIBUTES } from './instruments.js';
