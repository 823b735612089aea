import { BadRequestException } from '@nestjs/common';

/** The longest name a zip entry holds: its length field is 16 bits (of UTF-8 bytes). */
const MAX_NAME_BYTES = 0xffff;

// eslint-disable-next-line no-control-regex -- finding control characters (C0, DEL, C1) is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * An entry name that extracts inside the target folder with any unzip tool (zip-slip): backslashes
 * are separators (Windows tools read them so), control characters become `_`, and empty, `.`, `..`
 * and drive (`C:`) segments are dropped, so no name is absolute or climbs out. A name left empty
 * is refused with a 400: the archive is never started.
 */
export function safeEntryName(name: string): string {
  const segments = String(name)
    .toWellFormed()
    .normalize('NFC')
    .replace(CONTROL_CHARACTERS, '_')
    .split(/[\\/]+/)
    .filter((segment, index) => segment !== '' && segment !== '.' && segment !== '..' && !isDrive(segment, index));
  const safe = segments.join('/');
  if (safe === '') throw new BadRequestException('Invalid entry name: nothing is left of it once made safe');
  if (Buffer.byteLength(safe) > MAX_NAME_BYTES) throw new BadRequestException('Invalid entry name: it is too long');
  return safe;
}

const isDrive = (segment: string, index: number) => index === 0 && /^[A-Za-z]:$/.test(segment);

/**
 * Gives every entry a name of its own. Two names that one filesystem or another would take for the
 * same file (case and Unicode form aside) would overwrite each other on extraction, as would a file
 * named like another entry's folder: the later one is renamed `name (2).ext`, `name (3).ext`…
 */
export class EntryNames {
  readonly #files = new Set<string>();
  readonly #folders = new Set<string>();

  /** A safe, unique name for the next entry. */
  take(name: string): string {
    const segments = safeEntryName(name).split('/');
    // A folder named like a file already taken is renamed too, segment by segment.
    for (let depth = 0; depth < segments.length; depth++) {
      const prefix = segments.slice(0, depth).join('/');
      const isLast = depth === segments.length - 1;
      const taken = (candidate: string) => {
        const key = comparable(prefix === '' ? candidate : `${prefix}/${candidate}`);
        return this.#files.has(key) || (isLast && this.#folders.has(key));
      };
      segments[depth] = firstFree(segments[depth], taken);
    }
    for (let depth = 1; depth < segments.length; depth++) {
      this.#folders.add(comparable(segments.slice(0, depth).join('/')));
    }
    const unique = segments.join('/');
    this.#files.add(comparable(unique));
    return unique;
  }
}

const comparable = (name: string) => name.normalize('NFC').toLowerCase();

/** `segment`, or `segment (n)` before its extension, the first that is not taken. */
function firstFree(segment: string, taken: (candidate: string) => boolean): string {
  if (!taken(segment)) return segment;
  const dot = segment.lastIndexOf('.');
  const [stem, extension] = dot > 0 ? [segment.slice(0, dot), segment.slice(dot)] : [segment, ''];
  for (let n = 2; ; n++) {
    const candidate = `${stem} (${n})${extension}`;
    if (!taken(candidate)) return candidate;
  }
}
