/** Options some backends read from a rule (nginx's X-Accel-* headers). */
export interface BackendRuleOptions {
  /** nginx: `X-Accel-Charset`. */
  charset?: string;
  /** nginx: `X-Accel-Buffering` (`true`/`'yes'`, `false`/`'no'`). */
  buffering?: boolean | 'yes' | 'no';
  /** nginx: `X-Accel-Expires` (seconds, or `'off'`). */
  expires?: number | 'off';
  /** nginx: `X-Accel-Limit-Rate` (bytes per second, or `'off'`). */
  limitRate?: number | 'off';
}

/** What a backend is told about one delegated download. */
export interface DelegatedDownload {
  /** `destinationDir` joined with the file's path below the rule's source (decoded, `/`-separated). */
  destination: string;
  /** The matching rule's `destinationDir` (with a trailing `/`; empty when a `url` backend has none). */
  destinationDir?: string;
  /**
   * For an object in a bucket (S3Storage): its short-lived signed URL, which answers with the app's
   * Content-Type and Content-Disposition. nginx proxies it from an internal location; `redirect`
   * sends the client to it. A backend that needs a path on disk never sees such a file.
   */
  signedUrl?: string;
  /** The request's `Range` header, for backends that serve ranges themselves (X-Sendfile2). */
  range?: string;
  /** Whether the request made its range conditional (`If-Range`). */
  conditionalRange?: boolean;
  /** The file's size, where known (needed to resolve a `Range`). */
  size?: number;
  /** The matching rule's backend options. */
  options: BackendRuleOptions;
}

/** Headers (and optionally a status) that hand a download over to the proxy. */
export interface DelegationHeaders {
  headers: Record<string, string>;
  /** e.g. 206 for X-Sendfile2 ranges; default 200. */
  status?: number;
}

/**
 * A proxy backend: how one server is told to send a file.
 * Adding a proxy means adding one file implementing this interface.
 */
export interface DownloadBackend {
  /** Name used in options (`backend: 'nginx'`). */
  readonly name: string;
  /** The response header the proxy consumes; also what `X-Sendfile-Type` names in `auto` mode. */
  readonly header: string;
  /**
   * `path`: `destinationDir` is an absolute directory on the proxy's disk. `uri`: an internal URI.
   * `url`: where clients fetch files themselves (a CDN URL or path), optional.
   */
  readonly destinationKind: 'path' | 'uri' | 'url';
  /**
   * The headers for a download, or `undefined` when this server cannot be given that name
   * (then Node serves the file itself rather than sending a header the server would misread).
   */
  delegate(download: DelegatedDownload): DelegationHeaders | undefined;
  /**
   * Reads a value of `header` back as its server reads it: the path or URI it names. For the
   * healthcheck and the testing helpers; throws on a value the server could not read either.
   */
  readHeader?: (value: string) => string;
}
