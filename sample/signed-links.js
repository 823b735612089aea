// nginx + njs (Debian: apt-get install libnginx-mod-http-js): checks the links of nestjs-downloadview's
// ProxyLinkSigner, so that nginx serves the file without asking the app. Used by
// sample/nginx-signed-links.conf; docs/proxy-links.md explains the link.
// A link: /links/<name>?exp=<unix seconds>&kid=<key id>&cd=<base64url Content-Disposition>&sig=<base64url HMAC>
// sig = HMAC-SHA256(secret of kid, kid "\n" exp "\n" <decoded URL path> "\n" cd)
const crypto = require('crypto');

const PATTERNS = {
  exp: /^\d{1,12}$/,
  kid: /^[A-Za-z0-9_-]{1,32}$/,
  cd: /^[A-Za-z0-9_-]*$/,
  sig: /^[A-Za-z0-9_-]{43}$/,
};

/** $signed_link_keys: "id:secret id:secret" (js_var in the configuration): the first signs in the app, any one verifies. */
function secretOf(r, kid) {
  const pairs = (r.variables.signed_link_keys || '').split(/\s+/);
  for (let i = 0; i < pairs.length; i++) {
    const colon = pairs[i].indexOf(':');
    if (colon > 0 && pairs[i].slice(0, colon) === kid) return pairs[i].slice(colon + 1);
  }
  return undefined;
}

// njs has no timingSafeEqual: a comparison that reads every character whatever differs.
function sameText(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** { status: 200, cd, maxAge } for a good link, { status: 403 } for a bad one, { status: 410 } past its expiry. */
function check(r) {
  const args = {};
  for (const name in PATTERNS) {
    const value = r.args[name];
    // A repeated parameter (njs gives an array) is someone guessing which one is checked.
    if (typeof value !== 'string' || !PATTERNS[name].test(value)) return { status: 403 };
    args[name] = value;
  }
  const secret = secretOf(r, args.kid);
  if (!secret) return { status: 403 };
  // r.uri: the path as nginx decoded and normalised it, the file it serves.
  const message = args.kid + '\n' + args.exp + '\n' + r.uri + '\n' + args.cd;
  const expected = crypto.createHmac('sha256', secret).update(message).digest('base64url');
  if (!sameText(expected, args.sig)) return { status: 403 };
  if (Number(args.exp) < Math.floor(Date.now() / 1000)) return { status: 410 };
  // Whole seconds left, rounded down: no cache keeps the file past the link.
  const maxAge = Math.max(0, Number(args.exp) - Math.ceil(Date.now() / 1000));
  const cd = Buffer.from(args.cd, 'base64url').toString();
  // Signed by the app (printable ASCII: RFC 8187 encodes the rest), and checked all the same: a
  // header never carries a control character.
  if (!/^[\x20-\x7e]*$/.test(cd)) return { status: 403 };
  return { status: 200, cd: cd, maxAge: maxAge };
}

/** $signed_link_status: 200, 403 or 410. */
function status(r) {
  return String(check(r).status);
}

/** $signed_link_disposition: the link's Content-Disposition ('' when the link is refused). */
function disposition(r) {
  const result = check(r);
  return result.status === 200 ? result.cd : '';
}

/** $signed_link_fresh: a Cache-Control that ends with the link. */
function cacheControl(r) {
  const result = check(r);
  return result.status === 200 ? 'private, max-age=' + result.maxAge : 'private, no-store';
}

export default { status, disposition, cacheControl };
