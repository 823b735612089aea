import fc from 'fast-check';
import { parse } from 'content-disposition';
import { DownloadFile } from 'nestjs-downloadview';

// The ASCII `filename=` is what curl -OJ (and other clients without RFC 8187) save by; `filename*`
// is the exact name, which browsers and wget use.
const disposition = (name: string, inline = false) => DownloadFile.fromBuffer('', { name, inline }).disposition;
const utf8 = (name: string) => `filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, escapeChar)}`;
const escapeChar = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;

describe('Content-Disposition', () => {
  it.each([
    ['a plain ASCII name, as a token', 'hello-world.txt', 'attachment; filename=hello-world.txt'],
    ['an ASCII name with a space, quoted', 'a b.txt', 'attachment; filename="a b.txt"'],
    [
      "an ASCII name with %XX: the library's own filename* too",
      '100%41.txt',
      `attachment; filename=100%41.txt; ${utf8('100%41.txt')}`,
    ],
  ])('%s is unchanged', (_what, name, expected) => {
    expect(disposition(name)).toBe(expected);
  });

  it.each([
    ['accents: NFKD, combining marks dropped', 'report été.pdf', 'report ete.pdf'],
    ['accents already decomposed (NFD)', 'report e\u0301te\u0301.pdf', 'report ete.pdf'],
    [
      'letters NFKD keeps (ß, æ, ø, ł) and ligatures, full-width letters',
      'Straße æ ø ł ﬁn ＡＢ.txt',
      'Strasse ae o l fin AB.txt',
    ],
    ['typographic apostrophe and dashes', 'l’été – 2024.txt', "l'ete - 2024.txt"],
    ['CJK: one _ per character', '报告 2024.pdf', '__ 2024.pdf'],
    ['Hangul: one _ per syllable, not per jamo', '한국.txt', '__.txt'],
    ['emoji: one _ each, joiners and variation selectors dropped', '🎉 👨‍👩‍👧 ❤️.zip', '_ ___ _.zip'],
    ['other scripts', 'Ωmega Привет.txt', '_mega ______.txt'],
    ['a double quote, which curl does not unescape', 'say "hi".txt', 'say _hi_.txt'],
    ['a backslash, which curl and Windows read as a folder', 'a\\b.txt', 'a_b.txt'],
    ['the characters Windows refuses in file names', 'what? *now*: <1|2>/x.txt', 'what_ _now__ _1_2__x.txt'],
    ['control characters', 'tab\there\x7f.txt', 'tab_here_.txt'],
    ['invisible characters only', '\u200b\u200d', '_'],
  ])('%s: filename is the transliteration, filename* the exact name', (_what, name, fallback) => {
    const header = disposition(name);
    expect(parse(header, { extended: false }).parameters.filename).toBe(fallback);
    expect(header).toContain(`; ${utf8(name)}`);
    expect(parse(header).parameters.filename).toBe(name);
  });

  it('inline keeps its type', () => {
    expect(disposition('Résumé.txt', true)).toBe(`inline; filename=Resume.txt; ${utf8('Résumé.txt')}`);
  });

  it('for any name, filename is printable ASCII a Windows file name may hold, and filename* the exact name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), (name) => {
        const header = disposition(name);
        const fallback = parse(header, { extended: false }).parameters.filename;
        expect(fallback).toMatch(/^[\x20-\x7e]+$/);
        expect(fallback).not.toMatch(/["\\/?*:<>|]/);
        expect(parse(header).parameters.filename).toBe(name);
      }),
      { numRuns: 300 },
    );
  });
});
