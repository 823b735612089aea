import 'reflect-metadata';
import { Controller, Get, HttpException, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { validateHeaderValue } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import request from 'supertest';
import { BUILT_IN_BACKENDS, DownloadModule, FileSystemStorage, XSendfile } from 'nestjs-downloadview';
import { compileOptions } from '../../src/config/compile-options.js';
import { buildContentDisposition } from '../../src/files/content-headers.js';
import { matchRule } from '../../src/decision/match-rule.js';
import { encodePathSegments } from '../../src/paths/path-encoding.js';
import { isInside as moduleIsInside } from '../../src/storage/path-safety.js';

// `npm run test:fuzz` runs 10,000 cases per property; the default run a smaller count.
const numRuns = Number(process.env.FUZZ_RUNS ?? 300);
const base = mkdtempSync(join(tmpdir(), 'downloadview-fuzz-'));
const location = join(base, 'media');
const outside = join(base, 'secret');
mkdirSync(join(location, 'sub'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(location, 'a.txt'), 'a');
writeFileSync(join(location, 'sub', 'b.txt'), 'b');
writeFileSync(join(outside, 'secret.txt'), 'secret');
symlinkSync(join(outside, 'secret.txt'), join(location, 'escape.txt'));
symlinkSync(outside, join(location, 'escape-dir'));
symlinkSync(join(location, 'sub', 'b.txt'), join(location, 'inside-link.txt'));
symlinkSync(join(location, 'sub'), join(location, 'sub-link'));
mkdirSync(join(location, 'sub', 'deep'));
symlinkSync(outside, join(location, 'sub', 'deep', 'out'));
// A storage whose location is itself a symlink (as with a deploy's `current` link).
symlinkSync(location, join(base, 'media-link'));

const storage = new FileSystemStorage({ location, baseUrl: '/media/' });

/** Names an attacker would try, mixed with arbitrary unicode. */
const hostileName = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc
    .array(
      fc.constantFrom(
        '..',
        '.',
        '',
        '%2e%2e',
        '%2f',
        '..%2f',
        '\\',
        '..\\',
        '\u0000',
        '\r\n',
        'a.txt',
        'sub',
        'escape.txt',
        'escape-dir',
        '\u2024\u2024',
        '\uff0e\uff0e',
        '/',
        '//',
        '%00',
        'secret.txt',
        '\ud800',
        '#',
        '?',
        ';',
      ),
      { maxLength: 6 },
    )
    .map((parts) => parts.join('/')),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => `../${s}`),
);

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

describe('property: no name escapes the storage root', () => {
  it('path() and download() either refuse with a 400/404 or stay inside the root', () => {
    fc.assert(
      fc.property(hostileName, (name) => {
        for (const attempt of [() => storage.path(name), () => storage.download(name).path!]) {
          try {
            const path = attempt();
            if (!isInside(location, path)) return false;
            if (existsSync(path) && !isInside(location, realpathSync(path))) {
              // Only path() may name a file it would not serve.
              expect(() => storage.download(name)).toThrow(/File not found/);
            }
          } catch (error) {
            if (!(error instanceof HttpException) || ![400, 404].includes(error.getStatus())) return false;
            if (JSON.stringify(error.getResponse()).includes(base)) return false;
          }
        }
        return true;
      }),
      { numRuns },
    );
  });

  it('symlinks leaving the root are refused; symlinks inside it work', () => {
    expect(() => storage.download('escape.txt')).toThrow(/File not found/);
    expect(() => storage.download('escape-dir/secret.txt')).toThrow(/File not found/);
    expect(storage.download('inside-link.txt').size).toBe(1);
    expect(storage.download('sub-link/b.txt').size).toBe(1);
    expect(storage.download('sub/b.txt').size).toBe(1);
    expect(() => storage.download('sub/deep/out/secret.txt')).toThrow(/File not found/);
    expect(() => storage.download('sub-link/deep/out/secret.txt')).toThrow(/File not found/);
    expect(() => storage.download('sub')).toThrow(/File not found/);
    const linked = new FileSystemStorage({ location: join(base, 'media-link') });
    expect(linked.download('sub/b.txt').size).toBe(1);
    expect(linked.download('sub-link/b.txt').size).toBe(1);
    expect(() => linked.download('escape.txt')).toThrow(/File not found/);
    expect(() => linked.download('sub/deep/out/secret.txt')).toThrow(/File not found/);
    const lenient = new FileSystemStorage({ location, allowSymlinksOutside: true });
    expect(lenient.download('escape.txt').size).toBe(6);
  });
});

describe('property: delegation headers never leave destinationDir nor carry CR/LF', () => {
  const { rules } = compileOptions({
    rules: [
      { sourceUrl: '/media/', destinationDir: '/srv/media/' },
      { sourceDir: location, destinationDir: '/srv/files/' },
    ],
  });
  const backends = [...BUILT_IN_BACKENDS.values()];

  it('for any URL or path, a match stays below destinationDir, and every backend header is valid', () => {
    fc.assert(
      fc.property(hostileName, fc.boolean(), (name, byUrl) => {
        const file = byUrl ? { url: `/media/${name}` } : { path: join(location, name) };
        const match = matchRule(rules, file);
        if (!match) return true;
        const { destination, rule } = match;
        if (!destination.startsWith(rule.destinationDir)) return false;
        if (destination.split('/').some((segment) => segment === '..')) return false;
        for (const backend of backends) {
          const delegation = backend.delegate({ destination, options: {}, size: 10, range: 'bytes=0-1' });
          for (const value of Object.values(delegation?.headers ?? {})) {
            validateHeaderValue('X-Test', value); // throws on CR/LF/NUL or characters Node refuses
            if (/[\r\n]/.test(value)) return false;
          }
        }
        return true;
      }),
      { numRuns },
    );
  });

  it('Content-Disposition is a valid header for any download name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), fc.boolean(), (name, attachment) => {
        const value = buildContentDisposition(name, attachment);
        validateHeaderValue('Content-Disposition', value);
        return !/[\r\n]/.test(value);
      }),
      { numRuns },
    );
  });
});

@Controller('media')
class MediaController {
  @Get(':name')
  file(@Param('name') name: string) {
    return storage.download(name);
  }
}

@Controller('node')
class NodeServedController {
  @Get()
  @XSendfile(false)
  file() {
    return storage.download('sub/b.txt');
  }
}

describe('property: no request makes a 500 or leaks a path', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DownloadModule.forRoot({ rules: [{ sourceUrl: '/media/', destinationDir: '/srv/media/' }] })],
      controllers: [MediaController, NodeServedController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    http = request(app.getHttpServer());
  });
  afterAll(() => app.close());

  it('any encoded name: 200 delegated inside /srv/media/, or 400/404, never a path in the answer', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, async (name) => {
        let encoded: string;
        try {
          encoded = encodeURIComponent(name);
        } catch {
          encoded = name.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').slice(-2)}`);
        }
        const res = await http.get(`/media/${encoded}`);
        if (![200, 400, 404].includes(res.status)) return false;
        if (res.text?.includes(base)) return false;
        const header = res.headers['x-sendfile'];
        if (res.status === 200) {
          return (
            typeof header === 'string' &&
            decodeURIComponent(header).startsWith('/srv/media/') &&
            !decodeURIComponent(header).includes('..')
          );
        }
        return header === undefined;
      }),
      { numRuns },
    );
  }, 300_000);

  it('any Range / conditional request headers: a well-formed answer, never a 500', async () => {
    const headerValue = fc.oneof(
      fc
        .string({ maxLength: 30 })
        // eslint-disable-next-line no-control-regex -- the NUL is the point
        .filter((v) => !/[\r\n\u0000]/.test(v) && [...v].every((c) => c.charCodeAt(0) >= 32 && c.charCodeAt(0) < 127)),
      fc.tuple(fc.nat(20), fc.nat(20)).map(([a, b]) => `bytes=${a}-${b}`),
      fc.constantFrom(
        'bytes=-5',
        'bytes=0-0,2-3',
        'bytes=5-',
        'bytes=99-',
        'W/"x"',
        '*',
        'Thu, 01 Jan 1970 00:00:00 GMT',
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since'),
          headerValue,
        ),
        async (headers) => {
          const res = await http.get('/node').set(headers);
          if (![200, 206, 304, 412, 416].includes(res.status)) return false;
          if (res.status === 206) return /^bytes \d+-\d+\/1$/.test(res.headers['content-range']) && res.text === 'b';
          if (res.status === 200) return res.text === 'b';
          return true;
        },
      ),
      { numRuns },
    );
  }, 300_000);

  it('percent-encoded traversal forms are refused', async () => {
    for (const path of [
      '/media/..%2Fsecret%2Fsecret.txt',
      '/media/%2e%2e%2fsecret%2fsecret.txt',
      '/media/..%5Csecret.txt',
      '/media/a%00.txt',
      '/media/escape.txt',
      '/media/%2Fetc%2Fpasswd',
    ]) {
      const res = await http.get(path);
      expect([path, [400, 404].includes(res.status)]).toEqual([path, true]);
      expect(res.headers['x-sendfile']).toBeUndefined();
    }
  });
});

describe('property: save() and delete() never touch anything outside the root', () => {
  const writes = mkdtempSync(join(tmpdir(), 'downloadview-fuzz-writes-'));
  let run = 0;
  const segment = fc.constantFrom('a', 'b', 'c.txt', 'out', 'in', '..', '.', 'x y', 'é', '%2e');
  const relativeName = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
  /** A layout below the root: folders, files, and symlinks out (folder, file, dangling) and in. */
  const layoutEntry = fc.record({
    name: relativeName,
    kind: fc.constantFrom('dir', 'file', 'link-out-dir', 'link-out-file', 'link-dangling', 'link-in-dir'),
  });
  const operation = fc.record({
    kind: fc.constantFrom('save', 'saveSync', 'delete'),
    name: fc.oneof(relativeName, hostileName),
    onConflict: fc.constantFrom('overwrite', 'rename', 'error'),
    data: fc.uint8Array({ maxLength: 64 }),
  });

  /** Every entry below a folder with its contents, never following a symlink (a layout may loop). */
  function listing(dir: string, prefix = ''): string[] {
    return readdirSync(dir)
      .sort()
      .flatMap((entry) => {
        const path = join(dir, entry);
        const stats = lstatSync(path);
        if (stats.isDirectory()) return [`${prefix}${entry}/`, ...listing(path, `${prefix}${entry}/`)];
        return [`${prefix}${entry}:${stats.isFile() ? readFileSync(path, 'hex') : readlinkSync(path)}`];
      });
  }

  it('for any layout and name: stays inside, refuses with 400/403/409, leaves no temporary file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(layoutEntry, { maxLength: 6 }),
        fc.array(operation, { minLength: 1, maxLength: 3 }),
        async (layout, operations) => {
          const dir = join(writes, String(run++));
          const root = join(dir, 'root');
          const outside = join(dir, 'outside');
          mkdirSync(join(outside, 'd'), { recursive: true });
          mkdirSync(root);
          writeFileSync(join(outside, 'f.txt'), 'outside');
          for (const { name, kind } of layout) {
            const path = join(root, name);
            if (!path.startsWith(root + sep) || existsSync(path)) continue;
            try {
              mkdirSync(dirname(path), { recursive: true });
              if (kind === 'dir') mkdirSync(path);
              else if (kind === 'file') writeFileSync(path, 'inside');
              else
                symlinkSync(
                  {
                    'link-out-dir': join(outside, 'd'),
                    'link-out-file': join(outside, 'f.txt'),
                    'link-dangling': join(outside, 'none'),
                    'link-in-dir': root,
                  }[kind],
                  path,
                );
            } catch {
              /* a layout entry that cannot be made (a file in the way): skip it */
            }
          }
          const before = listing(outside);
          const store = new FileSystemStorage({ location: root });
          for (const op of operations) {
            try {
              if (op.kind === 'delete') {
                await store.delete(op.name);
              } else {
                const stored =
                  op.kind === 'save'
                    ? await store.save(op.name, Readable.from([op.data]), { onConflict: op.onConflict })
                    : store.saveSync(op.name, op.data, { onConflict: op.onConflict });
                const real = realpathSync(join(root, stored));
                if (!isInside(realpathSync(root), real)) return false;
                if (!readFileSync(real).equals(Buffer.from(op.data))) return false;
              }
            } catch (error) {
              if (!(error instanceof HttpException) || ![400, 403, 409].includes(error.getStatus())) throw error;
              if (JSON.stringify(error.getResponse()).includes(dir)) return false;
            }
          }
          const clean = [...listing(outside), ...listing(root)].every((entry) => !entry.includes('.downloadview-'));
          return clean && JSON.stringify(listing(outside)) === JSON.stringify(before);
        },
      ),
      { numRuns },
    );
  });
});

// The checks every download runs are written for speed (a prefix test, a shortcut for names that
// need no escape): each is held to the plain form it replaced, for any input.
describe('fast forms of the per-download checks', () => {
  const part = fc.constantFrom('a', 'ab', 'b', 'a b', 'é', '.', '..', '');
  const absolute = fc.array(part, { maxLength: 4 }).map((parts) => resolve('/', ...parts));

  it('isInside() agrees with relative() for absolute, normalised paths, with or without a trailing slash', () => {
    fc.assert(
      fc.property(absolute, absolute, fc.boolean(), fc.boolean(), (root, child, rootSlash, childSlash) => {
        const rel = relative(root, child);
        const expected = rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
        const r = rootSlash && root !== sep ? root + sep : root;
        const c = childSlash && child !== sep ? child + sep : child;
        return moduleIsInside(r, c) === expected;
      }),
      { numRuns },
    );
  });

  it('encodePathSegments() equals encoding each segment with encodeURIComponent', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.stringMatching(/^[\w.~!*'()/ -]{0,30}$/)),
        (path) => {
          return encodePathSegments(path) === path.toWellFormed().split('/').map(encodeURIComponent).join('/');
        },
      ),
      { numRuns },
    );
  });
});
