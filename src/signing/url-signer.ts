import { createHmac, timingSafeEqual } from 'node:crypto';

export interface UrlSignerOptions {
  /** The signing secret, or several for rotation: URLs are signed with the first, any one verifies. */
  secret: string | string[];
  /** Seconds a signed URL stays valid. Default 3600. */
  expiresIn?: number;
}

/** The query parameter carrying `<expires>.<signature>` (django-downloadview's name). */
export const SIGNATURE_PARAMETER = 'X-Signature';

/**
 * Signs URL paths with an expiry: HMAC-SHA256 of `<path>\n<expires>` (node:crypto), compared in
 * constant time. The path is the URL's path exactly as the client will send it (percent-encoded).
 */
export class UrlSigner {
  readonly #secrets: string[];
  readonly expiresIn: number;

  constructor(options: UrlSignerOptions) {
    const secrets = Array.isArray(options.secret) ? options.secret : [options.secret];
    if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length < 16)) {
      throw new TypeError(
        'UrlSigner: "secret" must be a string of at least 16 characters, or a non-empty list of them',
      );
    }
    const expiresIn = options.expiresIn ?? 3600;
    if (!Number.isInteger(expiresIn) || expiresIn <= 0) {
      throw new TypeError('UrlSigner: "expiresIn" must be a positive number of seconds');
    }
    this.#secrets = secrets;
    this.expiresIn = expiresIn;
  }

  #mac(secret: string, path: string, expires: number): Buffer {
    return createHmac('sha256', secret).update(`${path}\n${expires}`).digest();
  }

  /** The value of the signature parameter for a path. */
  signature(path: string, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + this.expiresIn;
    return `${expires}.${this.#mac(this.#secrets[0], path, expires).toString('base64url')}`;
  }

  /** `path?X-Signature=…` (or `&X-Signature=…` after an existing query). */
  sign(url: string, now = Date.now()): string {
    const [path] = url.split('?', 1);
    const separator = url.includes('?') ? '&' : '?';
    return `${url}${separator}${SIGNATURE_PARAMETER}=${encodeURIComponent(this.signature(path, now))}`;
  }

  /** Why a signature does not hold for a path ('missing', 'malformed', 'expired', 'wrong'), or undefined when it does. */
  check(
    path: string,
    signature: string | undefined,
    now = Date.now(),
  ): 'missing' | 'malformed' | 'expired' | 'wrong' | undefined {
    if (!signature) return 'missing';
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(signature);
    if (!match) return 'malformed';
    const expires = Number(match[1]);
    // Compared as text, not as decoded bytes: the last of 43 base64url characters carries 2 unused
    // bits, so 4 spellings decode to the same MAC, and only the canonical one may pass.
    const given = Buffer.from(match[2]);
    const valid = this.#secrets.some((secret) =>
      timingSafeEqual(Buffer.from(this.#mac(secret, path, expires).toString('base64url')), given),
    );
    if (!valid) return 'wrong';
    return expires * 1000 < now ? 'expired' : undefined;
  }
}
