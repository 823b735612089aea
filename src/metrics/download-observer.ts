/**
 * What the module reports about the files it hands out, for metrics. The core knows only this
 * interface (no OpenTelemetry type): `nestjs-downloadview/otel` implements it with
 * `@opentelemetry/api`, and an app may pass its own (prom-client, StatsD…). None of these events
 * carries a file name, path, key, bucket or URL: only low-cardinality words and the route pattern.
 */
export interface DownloadObserver {
  /** Every file response, once, when its status is known: at the hand-off for the proxy's, at the end for Node's. */
  response(event: FileResponseEvent): void;
  /** Node begins sending a file (the shutdown drain counts it from here too). */
  nodeStarted(event: NodeDownloadStart): void;
  /** The response of a file Node was sending closed: finished, or cut before its end. */
  nodeEnded(event: NodeDownloadEnd): void;
  /** A signed URL or proxy link the app refused. */
  signatureRefused(event: SignatureRefusal): void;
  /** A storage failed to find or read a file (404, 403, 502…). */
  storageError(event: StorageErrorEvent): void;
  /** A `save()` that stored its file, or was refused. */
  upload(event: UploadEvent): void;
}

/**
 * Who sends the bytes: the proxy's header in lower case (`x-sendfile`, `x-accel-redirect`,
 * `x-sendfile2`, `x-lighttpd-send-file`), `caddy`, `redirect` (to a signed URL or a CDN); or Node:
 * `node` (a file, an object, a remote file streamed through) and `archive` (a zip built as sent).
 */
export type Delivery = string;

export interface FileResponseEvent {
  readonly delivery: Delivery;
  readonly status: number;
  /** The route's path pattern as Nest registered it (`/files/:name`), when known; never the URL. */
  readonly route?: string;
}

export interface NodeDownloadStart {
  readonly delivery: Delivery;
  readonly route?: string;
}

export interface NodeDownloadEnd extends NodeDownloadStart {
  readonly status: number;
  /** Node wrote the whole response; false when the client left or the connection was cut first. */
  readonly completed: boolean;
  /** Body bytes Node wrote to the connection (chunked framing included, the head excluded). */
  readonly bytes: number;
  /** From the hand-off to Node to the response's close. */
  readonly seconds: number;
}

export interface SignatureRefusal {
  readonly reason: 'missing' | 'invalid' | 'expired';
  /** `signed-url` (`@SignatureRequired`) or `proxy-link` (ProxyLinkAuthController, for caddy). */
  readonly link: 'signed-url' | 'proxy-link';
  readonly route?: string;
}

export interface StorageErrorEvent {
  /** `filesystem` or `s3`. */
  readonly storage: string;
  /** The HTTP status the error became: 404 missing, 403 denied, 502 the store failed. */
  readonly status: number;
}

export interface UploadEvent {
  readonly storage: string;
  /** Absent when the file was saved; else the status of the refusal (400, 403, 409, 413, 507…). */
  readonly refusedWith?: number;
}
