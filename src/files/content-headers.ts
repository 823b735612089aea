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
  const type = attachment ? 'attachment' : 'inline';
  const fallback = asciiFileName(name);
  // A name that is its own fallback keeps the library's output (`filename` alone, or with
  // `filename*` when it holds a %XX that some browsers would decode).
  return fallback === name ? contentDisposition(name, { type }) : contentDisposition(name, { type, fallback });
}

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
  let out = '';
  for (const char of name) {
    const ascii = SPELLED[char] ?? char.normalize('NFKD').replace(/[\p{M}\p{Cf}]/gu, '');
    out += /^[\x20-\x7e]*$/.test(ascii) && !/["\\/?*:<>|]/.test(ascii) ? ascii : '_';
  }
  // A name of invisible characters only still gets a fallback to save by.
  return out === '' && name !== '' ? '_' : out;
}
