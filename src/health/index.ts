export { DownloadHealthIndicator } from './download-health.indicator.js';
export { formatHealthcheck, runHealthcheck, type HealthcheckOptions, type HealthcheckStep } from './healthcheck.js';
