import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';

/** Attribute keys: OpenTelemetry's where one fits (`http.route`, `error.type`), the module's otherwise. */
export const ATTRIBUTES = {
  delivery: 'downloadview.delivery',
  statusClass: 'downloadview.status_class',
  route: 'http.route',
  outcome: 'downloadview.outcome',
  reason: 'downloadview.signature.reason',
  link: 'downloadview.signature.link',
  storage: 'downloadview.storage',
  errorType: 'error.type',
} as const;

/** Downloads last from milliseconds (a 304) to many minutes (a large file to a slow client). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export interface DownloadInstruments {
  readonly responses: Counter;
  readonly bytesSent: Counter;
  readonly completed: Counter;
  readonly cut: Counter;
  readonly active: UpDownCounter;
  readonly duration: Histogram;
  readonly signatureRefused: Counter;
  readonly storageErrors: Counter;
  readonly uploads: Counter;
}

/** The module's instruments, named by OpenTelemetry's rules (dotted namespaces, UCUM units). */
export function createInstruments(meter: Meter): DownloadInstruments {
  return {
    responses: meter.createCounter('downloadview.responses', {
      description: 'File responses, by who sends the bytes (a proxy, a redirect, Node) and status class',
      unit: '{response}',
    }),
    bytesSent: meter.createCounter('downloadview.node.bytes_sent', {
      description: 'Body bytes Node wrote for the files it sent itself',
      unit: 'By',
    }),
    completed: meter.createCounter('downloadview.node.completed', {
      description: 'Files Node sent to the end',
      unit: '{download}',
    }),
    cut: meter.createCounter('downloadview.node.cut', {
      description: 'Files Node stopped sending before the end: the client left or the connection was cut',
      unit: '{download}',
    }),
    active: meter.createUpDownCounter('downloadview.node.active', {
      description: 'Files Node is sending now (what the shutdown drain waits for)',
      unit: '{download}',
    }),
    duration: meter.createHistogram('downloadview.node.duration', {
      description: 'How long Node took to send a file, from the hand-off to the end of the response',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    signatureRefused: meter.createCounter('downloadview.signature.refused', {
      description: 'Signed URLs and proxy links refused, by reason',
      unit: '{refusal}',
    }),
    storageErrors: meter.createCounter('downloadview.storage.errors', {
      description: 'Storage reads that failed, by storage and the status they became',
      unit: '{error}',
    }),
    uploads: meter.createCounter('downloadview.uploads', {
      description: 'Files saved through a storage, and saves refused (by status)',
      unit: '{upload}',
    }),
  };
}
