import { createHmac, timingSafeEqual } from 'node:crypto';
import { posix, relative, sep } from 'node:path';
import { buildContentDisposition } from '../files/content-headers.js';
import { fileNotFound } from '../http/file-errors.js';
import { encodePathSegments, hasControlCharacters } from '../paths/path-encoding.js';
import type { FileSystemStorage } from '../storage/file-system.storage.js';

/** One signing key: `id` travels in the link (`kid`), so that two keys can be valid during a rollover. */
export interface ProxyLinkKey {
  /** 1–32 characters of `[A-Za-z0-9_-]`. */
  id: string;
  /**
   * At least 32 characters of `[A-Za-z0-9+/=._~-]` (e.g. `openssl rand -base64 32`): the same
   * secret goes into the proxy's configuration, where quotes, `$` or spaces would need escaping.
   */
  secret: string;
}

export interface ProxyLinkSignerOptions {
  /** The storage the links open files of: a link is issued only for a name the storage accepts. */
  storage: FileSystemStorage;
  /** The URL prefix the proxy serves the storage's folder under, e.g. `/links/` (ASCII, `/` at both ends). */
  baseUrl: string;
  /** Keys: links are signed with the first, the proxy accepts any of them. */
  keys: ProxyLinkKey[];
  /** Seconds a link stays valid, unless `url()` says otherwise. Default 3600. */
  expiresIn?: number;
}

export interface ProxyLinkOptions {
  /** Seconds this link stays valid. */
  expiresIn?: number;
  /** The name the browser saves the file as. Default: the file's own name (its last segment). */
  filename?: string;
  /** `inline` shows the file in the browser; default `attachment`. */
  disposition?: 'attachment' | 'inline';
  /** The time the link is issued at, in milliseconds (tests). Default `Date.now()`. */
  now?: number;
}

/** What a proxy (or the app's verification route) answers to a link. */
export type ProxyLinkCheck =
  | { status: 200; contentDisposition: string; cacheControl: string; path: string }
  | { status: 403 | 410; cacheControl: 'private, no-store' };

/** The query parameters of a link, in the order they are written. */
export const PROXY_LINK_PARAMETERS = ['exp', 'kid', 'cd', 'sig'] as const;

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const SECRET = /^[A-Za-z0-9+/=._~-]{32,}$/;
const BASE_URL = /^\/(?:[A-Za-z0-9._~-]+\/)*$/;
const EXPIRES = /^\d{1,12}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const NO_STORE = 'private, no-store' as const;

/**
 * Links that a proxy checks by itself (nginx with njs, lighttpd with mod_magnet, caddy through
 * `forward_auth`; see docs/proxy-links.md): `<baseUrl><name>?exp=<expires>&kid=<key id>&cd=<b64url
 * Content-Disposition>&sig=<b64url HMAC-SHA256>`. The MAC covers, one per line, the key id, the
 * expiry (Unix seconds), the URL path as the proxy decodes it, and `cd`: a link opens one file,
 * until one time, under one name.
 */
export class ProxyLinkSigner {
  readonly storage: FileSystemStorage;
  readonly baseUrl: string;
  readonly expiresIn: number;
  readonly #keys: ProxyLinkKey[];

  constructor(options: ProxyLinkSignerOptions) {
    const { storage, baseUrl, keys } = options ?? ({} as ProxyLinkSignerOptions);
    if (!storage || typeof storage.path !== 'function') {
      throw new TypeError('ProxyLinkSigner: "storage" must be a FileSystemStorage');
    }
    if (typeof baseUrl !== 'string' || !BASE_URL.test(baseUrl)) {
      throw new TypeError('ProxyLinkSigner: "baseUrl" must be a path such as "/links/" (ASCII, "/" at both ends)');
    }
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new TypeError('ProxyLinkSigner: "keys" must list at least one { id, secret }');
    }
    for (const key of keys) {
      if (typeof key?.id !== 'string' || !KEY_ID.test(key.id)) {
        throw new TypeError('ProxyLinkSigner: a key "id" must be 1 to 32 characters of A-Z a-z 0-9 _ -');
      }
      // The message names the key, never the secret.
      if (typeof key.secret !== 'string' || !SECRET.test(key.secret)) {
        throw new TypeError(
          `ProxyLinkSigner: the secret of key "${key.id}" must be at least 32 characters of A-Z a-z 0-9 + / = . _ ~ -`,
        );
      }
    }
    if (new Set(keys.map((k) => k.id)).size !== keys.length) {
      throw new TypeError('ProxyLinkSigner: two keys have the same "id"');
    }
    this.expiresIn = checkExpiresIn(options.expiresIn ?? 3600);
    this.storage = storage;
    this.baseUrl = baseUrl;
    this.#keys = keys.map((k) => ({ ...k }));
  }

  /**
   * A link to a file of the storage. The name is checked as the storage checks any name (400 when
   * it leaves the folder), and the file must be there (404), not behind a symlink out of the folder.
   */
  url(name: string, options: ProxyLinkOptions = {}): string {
    const expiresIn = checkExpiresIn(options.expiresIn ?? this.expiresIn);
    // The storage's own check (400), then its normalised name (`a/./b` → `a/b`), as the proxy sees it.
    const normalised = relative(this.storage.location, this.storage.path(name)).split(sep).join('/');
    if (!this.storage.exists(name)) throw fileNotFound();
    const path = this.baseUrl + normalised;
    const filename = options.filename ?? posix.basename(path);
    if (typeof filename !== 'string' || filename === '' || hasControlCharacters(filename)) {
      throw new TypeError('ProxyLinkSigner: "filename" must be a non-empty name without control characters');
    }
    const cd = Buffer.from(buildContentDisposition(filename, options.disposition !== 'inline')).toString('base64url');
    const expires = Math.floor((options.now ?? Date.now()) / 1000) + expiresIn;
    const [key] = this.#keys;
    const sig = mac(key.secret, key.id, expires, path, cd);
    return `${this.baseUrl}${encodePathSegments(path.slice(this.baseUrl.length))}?exp=${expires}&kid=${key.id}&cd=${cd}&sig=${sig}`;
  }

  /**
   * What the proxy answers to a request URI (path and query, as sent: percent-encoded), checked in
   * the app (caddy's `forward_auth`, or an app that serves the links itself): 403 for a missing,
   * malformed or wrong signature or an unknown key, 410 for a valid one past its expiry, else 200
   * with the link's Content-Disposition and a Cache-Control whose max-age ends with the link.
   */
  check(uri: string, now = Date.now()): ProxyLinkCheck {
    const refused = (status: 403 | 410) => ({ status, cacheControl: NO_STORE });
    if (typeof uri !== 'string') return refused(403);
    const question = uri.indexOf('?');
    if (question < 0 || uri.includes('#')) return refused(403);
    let path: string;
    try {
      path = decodeURIComponent(uri.slice(0, question));
    } catch {
      return refused(403);
    }
    if (!path.startsWith(this.baseUrl) || hasControlCharacters(path)) return refused(403);
    const query = new URLSearchParams(uri.slice(question + 1));
    const values = PROXY_LINK_PARAMETERS.map((p) => query.getAll(p));
    // Two values of one parameter is someone guessing which one is checked.
    if (values.some((v) => v.length !== 1)) return refused(403);
    const [exp, kid, cd, sig] = values.map((v) => v[0]);
    if (!EXPIRES.test(exp) || !BASE64URL.test(cd) || !SIGNATURE.test(sig)) return refused(403);
    const key = this.#keys.find((k) => k.id === kid);
    if (!key) return refused(403);
    const expires = Number(exp);
    // Compared as text: of the 4 spellings of the last base64url character only the canonical one passes.
    if (!timingSafeEqual(Buffer.from(mac(key.secret, kid, expires, path, cd)), Buffer.from(sig))) return refused(403);
    if (expires < Math.floor(now / 1000)) return refused(410);
    // Whole seconds left, rounded down: no cache keeps the file past the link.
    const remaining = Math.max(0, expires - Math.ceil(now / 1000));
    const contentDisposition = Buffer.from(cd, 'base64url').toString('latin1');
    // Signed by this app, so it is its own header (printable ASCII: RFC 8187 encodes the rest);
    // checked all the same: a header never carries CR/LF.
    if (!PRINTABLE_ASCII.test(contentDisposition)) return refused(403);
    return { status: 200, contentDisposition, cacheControl: `private, max-age=${remaining}`, path };
  }
}

/** HMAC-SHA256, base64url, of `kid \n expires \n path \n cd` (what sample/signed-links.js and the Lua script compute). */
function mac(secret: string, kid: string, expires: number, path: string, cd: string): string {
  return createHmac('sha256', secret).update(`${kid}\n${expires}\n${path}\n${cd}`).digest('base64url');
}

function checkExpiresIn(value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError('ProxyLinkSigner: "expiresIn" must be a positive whole number of seconds');
  }
  return value;
}
