import type { DownloadObserver } from './download-observer.js';

/**
 * The observer that storages and guards report to. They are made outside Nest's container (`new
 * FileSystemStorage(…)`, `@SignatureRequired(signer)`), so DownloadModule's interceptor installs its
 * `metrics` option here when the app starts and removes it when the app stops. Without one, each
 * hook is a property read and an `undefined` check.
 */
let current: DownloadObserver | undefined;

/** The app's observer, or undefined when no app with `metrics` runs. */
export function downloadObserver(): DownloadObserver | undefined {
  return current;
}

/** Makes `observer` the one storages and guards report to (the last app started wins). */
export function observeDownloads(observer: DownloadObserver): void {
  current = observer;
}

/** Stops reporting to `observer`, unless another app has installed its own since. */
export function stopObservingDownloads(observer: DownloadObserver): void {
  if (current === observer) current = undefined;
}
