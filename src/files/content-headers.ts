import { create as contentDisposition } from 'content-disposition';
import { contentType as mimeContentType } from 'mime-types';

/**
 * The Content-Type for a file name: mime-types' guess (`text/*` with `; charset=utf-8`),
 * else `application/octet-stream`.
 */
export function guessContentType(name: string): string {
  return mimeContentType(name) || 'application/octet-stream';
}

/**
 * An RFC 6266 Content-Disposition: `filename*` is the exact name in UTF-8; `filename`, the fallback
 * that clients without RFC 8187 (curl -OJ) save by, is its ASCII transliteration.
 */
export function buildContentDisposition(name: string, attachment: boolean): string {
  const key = (attachment ? 'a' : 'i') + name;
  let header = dispositions.get(key);
  if (header === undefined) {
    const type = attachment ? 'attachment' : 'inline';
    const fallback = asciiFileName(name);
    // A name that is its own fallback keeps the library's output (`filename` alone, or with
    // `filename*` when it holds a %XX that some browsers would decode).
    header = fallback === name ? contentDisposition(name, { type }) : contentDisposition(name, { type, fallback });
    if (dispositions.size >= MAX_REMEMBERED) dispositions.clear();
    dispositions.set(key, header);
  }
  return header;
}

/**
 * The headers of the names seen lately: the same files are downloaded again and again, and the
 * header costs microseconds to build (transliteration, RFC 8187 encoding) on every download's path.
 * Bounded: cleared when full, so any set of names costs at most this many entries.
 */
const dispositions = new Map<string, string>();
const MAX_REMEMBERED = 1000;

/** Printable ASCII with none of the characters the fallback replaces: its own fallback. */
const SAFE_ASCII = /^[\x20-\x21\x23-\x29\x2b-\x2e\x30-\x39\x3b\x3d\x40-\x5b\x5d-\x7b\x7d\x7e]*$/;

/** Letters NFKD does not decompose into ASCII, spelled as Latin-script users do. */
const SPELLED: Record<string, string> = {
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'Th',
  ı: 'i',
  '‘': "'",
  '’': "'",
  '‚': "'",
  '‐': '-',
  '‑': '-',
  '‒': '-',
  '–': '-',
  '—': '-',
};

/**
 * The name in printable ASCII that is also a valid Windows file name and needs no escape in a
 * quoted-string (curl does not unescape `\"`): each character in Unicode NFKD with its combining
 * marks dropped (`é` → `e`, `ﬁ` → `fi`, full-width → ASCII), else `_` (CJK, emoji, `"`, `\`, `/`,
 * `?`, `*`, `:`, `<`, `>`, `|`, control characters). Invisible format characters (zero-width
 * joiners, bidi controls) are dropped.
 */
function asciiFileName(name: string): string {
  if (SAFE_ASCII.test(name)) return name;
  let out = '';
  for (const char of name) {
    const ascii = SPELLED[char] ?? char.normalize('NFKD').replace(/[\p{M}\p{Cf}]/gu, '');
    out += /^[\x20-\x7e]*$/.test(ascii) && !/["\\/?*:<>|]/.test(ascii) ? ascii : '_';
  }
  // A name of invisible characters only still gets a fallback to save by.
  return out === '' && name !== '' ? '_' : out;
}
