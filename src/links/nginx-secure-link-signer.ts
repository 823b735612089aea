import { createHash } from 'node:crypto';
import { relative, sep } from 'node:path';
import { fileNotFound } from '../http/file-errors.js';
import { encodePathSegments, hasControlCharacters } from '../paths/path-encoding.js';
import type { FileSystemStorage } from '../storage/file-system.storage.js';

export interface NginxSecureLinkSignerOptions {
  /** The storage the links open files of: a link is issued only for a name the storage accepts. */
  storage: FileSystemStorage;
  /** The URL prefix nginx serves the storage's folder under, e.g. `/md5-links/` (ASCII, `/` at both ends). */
  baseUrl: string;
  /** The secret of `secure_link_md5` (at least 32 characters of `[A-Za-z0-9+/=._~-]`). One only: no rollover. */
  secret: string;
  /** Seconds a link stays valid, unless `url()` says otherwise. Default 3600. */
  expiresIn?: number;
}

export interface NginxSecureLinkOptions {
  expiresIn?: number;
  /** The name the browser saves the file as. Default: the file's own name. */
  filename?: string;
  /** The time the link is issued at, in milliseconds (tests). */
  now?: number;
}

/**
 * Links for nginx's built-in `secure_link` module, for installations without njs
 * (sample/nginx-signed-links-md5.conf): `<baseUrl><name>?expires=<unix seconds>&dn=<name>&md5=<token>`,
 * token = base64url(MD5(`<expires>|<dn>|<decoded path> <secret>`)). Weaker than ProxyLinkSigner's
 * HMAC-SHA256: MD5 of a secret-suffixed message, one secret (no rollover), and nginx cannot count
 * the link's remaining life (`Cache-Control: private, max-age=0`).
 */
export class NginxSecureLinkSigner {
  readonly storage: FileSystemStorage;
  readonly baseUrl: string;
  readonly expiresIn: number;
  readonly #secret: string;

  constructor(options: NginxSecureLinkSignerOptions) {
    const { storage, baseUrl, secret } = options ?? ({} as NginxSecureLinkSignerOptions);
    if (!storage || typeof storage.path !== 'function') {
      throw new TypeError('NginxSecureLinkSigner: "storage" must be a FileSystemStorage');
    }
    if (typeof baseUrl !== 'string' || !/^\/(?:[A-Za-z0-9._~-]+\/)*$/.test(baseUrl)) {
      throw new TypeError('NginxSecureLinkSigner: "baseUrl" must be a path such as "/md5-links/"');
    }
    if (typeof secret !== 'string' || !/^[A-Za-z0-9+/=._~-]{32,}$/.test(secret)) {
      throw new TypeError(
        'NginxSecureLinkSigner: "secret" must be at least 32 characters of A-Z a-z 0-9 + / = . _ ~ -',
      );
    }
    this.expiresIn = checkExpiresIn(options.expiresIn ?? 3600);
    this.storage = storage;
    this.baseUrl = baseUrl;
    this.#secret = secret;
  }

  /** A link to a file of the storage: 400 for a name outside it, 404 when it is not there. */
  url(name: string, options: NginxSecureLinkOptions = {}): string {
    const expiresIn = checkExpiresIn(options.expiresIn ?? this.expiresIn);
    const normalised = relative(this.storage.location, this.storage.path(name)).split(sep).join('/');
    if (!this.storage.exists(name)) throw fileNotFound();
    const filename = options.filename ?? normalised.split('/').pop()!;
    if (typeof filename !== 'string' || filename === '' || hasControlCharacters(filename)) {
      throw new TypeError('NginxSecureLinkSigner: "filename" must be a non-empty name without control characters');
    }
    const dn = rfc8187(filename);
    const expires = Math.floor((options.now ?? Date.now()) / 1000) + expiresIn;
    const path = this.baseUrl + normalised;
    // `|` separates the parts: neither the expiry nor dn can hold one, so no two links sign the same text.
    const md5 = createHash('md5').update(`${expires}|${dn}|${path} ${this.#secret}`).digest('base64url');
    return `${this.baseUrl}${encodePathSegments(normalised)}?expires=${expires}&dn=${dn}&md5=${md5}`;
  }
}

/**
 * The name as an RFC 8187 value (UTF-8, percent-encoded), which nginx puts as it is after
 * `filename*=UTF-8''`: nginx cannot decode it, so it must be the header's text and a query value at
 * once. Only `A-Z a-z 0-9 - . _ ~` stay (attribute characters that a query also keeps); the
 * content-disposition library would leave `#`, `&` and `+`, which a query would split or decode.
 */
function rfc8187(name: string): string {
  return encodeURIComponent(name.toWellFormed()).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function checkExpiresIn(value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError('NginxSecureLinkSigner: "expiresIn" must be a positive whole number of seconds');
  }
  return value;
}
