import { HttpException } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileSystemStorage, type SaveData } from 'nestjs-downloadview';

const base = mkdtempSync(join(tmpdir(), 'downloadview-writes-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

/** A fresh storage root with an outside folder, a symlinked folder and symlinked files leading out. */
function layout() {
  const dir = join(base, String(n++));
  const root = join(dir, 'media');
  const outside = join(dir, 'outside');
  mkdirSync(join(root, 'inner'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'secret\n');
  symlinkSync(outside, join(root, 'out-dir'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'out-file.txt'));
  symlinkSync(join(outside, 'not-there.txt'), join(root, 'dangling.txt'));
  symlinkSync(join(root, 'inner'), join(root, 'in-dir'));
  return { root, outside, storage: new FileSystemStorage({ location: root }) };
}

/** Everything below a folder, with contents: what must not change outside the root. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, entry);
    const stats = lstatSync(path);
    out[entry] = stats.isFile() ? readFileSync(path, 'utf8') : stats.isDirectory() ? 'dir' : 'link';
  }
  return out;
}

/** Leftover temporary files anywhere below a folder. */
const temporaries = (dir: string) =>
  (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.includes('.downloadview-'));

async function statusOf(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
    return 'saved';
  } catch (error) {
    if (error instanceof HttpException) {
      expect(JSON.stringify(error.getResponse())).not.toContain(base); // never the path
      return error.getStatus();
    }
    throw error;
  }
}

describe('FileSystemStorage.save()', () => {
  it.each<[string, () => SaveData]>([
    ['a string', () => 'héllo\n'],
    ['bytes', () => new TextEncoder().encode('héllo\n')],
    ['a Readable', () => Readable.from([Buffer.from('hé'), Buffer.from('llo\n')])],
    ['a Readable of strings', () => Readable.from(['hé', 'llo\n'])],
    [
      'an async iterable',
      () =>
        (async function* () {
          await Promise.resolve();
          yield new TextEncoder().encode('hé');
          yield new TextEncoder().encode('llo\n');
        })(),
    ],
  ])('stores %s and resolves with the name', async (_what, data) => {
    const { root, storage } = layout();
    expect(await storage.save('reports/2026/a.txt', data())).toBe('reports/2026/a.txt');
    expect(readFileSync(join(root, 'reports/2026/a.txt'), 'utf8')).toBe('héllo\n');
    expect(temporaries(root)).toEqual([]);
  });

  it('stores a file on disk streamed from its path (Multer disk storage), and the name as normalised', async () => {
    const { root, outside, storage } = layout();
    const upload = join(outside, 'upload.tmp');
    writeFileSync(upload, Buffer.alloc(300_000, 3));
    expect(await storage.save('inner/./up.bin', createReadStream(upload))).toBe('inner/up.bin');
    expect(readFileSync(join(root, 'inner', 'up.bin')).equals(readFileSync(upload))).toBe(true);
    expect(storage.saveSync('in-dir/sync.txt', 'through an inside link')).toBe('in-dir/sync.txt');
    expect(readFileSync(join(root, 'inner', 'sync.txt'), 'utf8')).toBe('through an inside link');
  });

  it('never overwrites by default: a taken name gets a free one, as Django does', async () => {
    const { root, storage } = layout();
    expect(await storage.save('a.txt', 'first')).toBe('a.txt');
    const second = await storage.save('a.txt', 'second');
    expect(second).toMatch(/^a_[A-Za-z0-9]{7}\.txt$/);
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('first');
    expect(readFileSync(join(root, second), 'utf8')).toBe('second');
    expect(storage.saveSync('a.txt', 'third')).toMatch(/^a_[A-Za-z0-9]{7}\.txt$/);
    // A long name keeps within 255 bytes.
    const long = `${'é'.repeat(120)}.txt`;
    await storage.save(long, 'x');
    expect(Buffer.byteLength(await storage.save(long, 'y'))).toBeLessThanOrEqual(255);
  });

  it("onConflict 'error' refuses a taken name (409); 'overwrite' replaces it", async () => {
    const { root, storage } = layout();
    await storage.save('a.txt', 'first');
    expect(await statusOf(storage.save('a.txt', 'second', { onConflict: 'error' }))).toBe(409);
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('first');
    expect(await storage.save('a.txt', 'second', { onConflict: 'overwrite' })).toBe('a.txt');
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('second');
    const strict = new FileSystemStorage({ location: root, onConflict: 'error' });
    expect(() => strict.saveSync('a.txt', 'x')).toThrow(/A file with that name exists/);
    expect(temporaries(root)).toEqual([]);
  });

  it('refuses names that leave the root (400) and creates nothing', async () => {
    const { root, outside, storage } = layout();
    const before = snapshot(outside);
    for (const name of ['../outside/x.txt', '/etc/x', 'a/../../x', '', 'a\nb', 'a\\b', '.', 'inner/..']) {
      expect(await statusOf(storage.save(name, 'x'))).toBe(400);
      expect(await statusOf(storage.delete(name))).toBe(400);
    }
    // Even where symlinks out are allowed, the root's own folder is no file name.
    expect(await statusOf(new FileSystemStorage({ location: root, allowSymlinksOutside: true }).save('.', 'x'))).toBe(
      400,
    );
    expect(snapshot(outside)).toEqual(before);
    expect(temporaries(root)).toEqual([]);
  });

  it('never writes through a symlinked folder that leads out (403), not even a folder', async () => {
    const { root, outside, storage } = layout();
    const before = snapshot(outside);
    for (const onConflict of ['overwrite', 'rename', 'error'] as const) {
      expect(await statusOf(storage.save('out-dir/x.txt', 'x', { onConflict }))).toBe(403);
      expect(await statusOf(storage.save('out-dir/new/deeper/x.txt', 'x', { onConflict }))).toBe(403);
      expect(await statusOf(storage.save('out-dir/secret.txt', 'pwned', { onConflict }))).toBe(403);
    }
    expect(() => storage.saveSync('out-dir/y.txt', 'y')).toThrow(/leads out of the storage through a symlink/);
    expect(snapshot(outside)).toEqual(before);
    expect(temporaries(root)).toEqual([]);
  });

  it('never writes onto a symlink, dangling or not: the file it points to is untouched', async () => {
    const { root, outside, storage } = layout();
    const before = snapshot(outside);
    expect(await statusOf(storage.save('out-file.txt', 'pwned', { onConflict: 'overwrite' }))).toBe(403);
    expect(await statusOf(storage.save('dangling.txt', 'pwned', { onConflict: 'overwrite' }))).toBe(403);
    expect(await statusOf(storage.save('out-file.txt', 'pwned', { onConflict: 'error' }))).toBe(409);
    expect(await statusOf(storage.save('dangling.txt', 'pwned', { onConflict: 'error' }))).toBe(409);
    // rename: the link's name is taken, so the file gets another name inside the root.
    const stored = await storage.save('dangling.txt', 'new');
    expect(stored).toMatch(/^dangling_[A-Za-z0-9]{7}\.txt$/);
    expect(readFileSync(join(root, stored), 'utf8')).toBe('new');
    expect(lstatSync(join(root, 'dangling.txt')).isSymbolicLink()).toBe(true);
    expect(snapshot(outside)).toEqual(before);
    expect(existsSync(join(outside, 'not-there.txt'))).toBe(false);
  });

  it('refuses a folder for a name, and a file for a folder (409)', async () => {
    const { storage } = layout();
    await storage.save('a.txt', 'A');
    expect(await statusOf(storage.save('a.txt/b.txt', 'B'))).toBe(409);
    expect(await statusOf(storage.save('inner', 'B', { onConflict: 'overwrite' }))).toBe(409);
  });

  it('refuses a body past maxBytes (413) while streaming, leaves nothing, and closes the source', async () => {
    const { root, outside, storage } = layout();
    const big = join(outside, 'big.bin');
    writeFileSync(big, Buffer.alloc(1024 * 1024, 1));
    const source = createReadStream(big, { highWaterMark: 16 * 1024 });
    expect(await statusOf(storage.save('big.bin', source, { maxBytes: 100_000 }))).toBe(413);
    expect(source.destroyed).toBe(true);
    expect(source.bytesRead).toBeLessThan(1024 * 1024); // refused while streaming, not at the end
    expect(await statusOf(storage.save('s.txt', 'x'.repeat(11), { maxBytes: 10 }))).toBe(413);
    expect(() => new FileSystemStorage({ location: root, maxBytes: 10 }).saveSync('s.txt', 'x'.repeat(11))).toThrow(
      /limit is 10 bytes/,
    );
    expect(await storage.save('s.txt', 'x'.repeat(10), { maxBytes: 10 })).toBe('s.txt');
    expect(readdirSync(root).sort()).toEqual(['dangling.txt', 'in-dir', 'inner', 'out-dir', 'out-file.txt', 's.txt']);
  });

  it('a source that fails midway leaves no file, and the file it was replacing intact', async () => {
    const { root, storage } = layout();
    await storage.save('a.txt', 'old');
    const failing = (async function* () {
      yield await Promise.resolve(Buffer.from('partial'));
      throw Object.assign(new Error('client went away'), { code: 'ECONNRESET' });
    })();
    await expect(storage.save('a.txt', failing, { onConflict: 'overwrite' })).rejects.toThrow('client went away');
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('old');
    expect(temporaries(root)).toEqual([]);
  });

  it('a file being replaced is read whole, old or new, never a part', async () => {
    const { root, storage } = layout();
    const size = 4 * 1024 * 1024;
    const versions = [Buffer.alloc(size, 'a'), Buffer.alloc(size, 'b')];
    await storage.save('v.bin', versions[0]);
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        const seen = readFileSync(join(root, 'v.bin'));
        expect(seen.length).toBe(size);
        expect(seen[0] === seen[size - 1] && seen.equals(versions[seen[0] === 97 ? 0 : 1])).toBe(true);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 1; i <= 20; i++) {
      await storage.save(
        'v.bin',
        Readable.from([versions[i % 2].subarray(0, size / 2), versions[i % 2].subarray(size / 2)]),
        { onConflict: 'overwrite' },
      );
    }
    reading = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(temporaries(root)).toEqual([]);
  });

  it('checks its options', () => {
    expect(() => new FileSystemStorage({ location: base, onConflict: 'replace' as never })).toThrow(
      /"onConflict" must be one of overwrite, rename, error/,
    );
    expect(() => new FileSystemStorage({ location: base, maxBytes: -1 })).toThrow(
      /"maxBytes" must be a non-negative integer/,
    );
    expect(() => new FileSystemStorage({ location: base }).saveSync('x', 'x', { maxBytes: 1.5 })).toThrow(/"maxBytes"/);
  });

  it('makes its root on the first save', async () => {
    const root = join(base, 'later', 'media');
    const storage = new FileSystemStorage({ location: root });
    expect(await storage.save('a.txt', 'A')).toBe('a.txt');
    expect(realpathSync(join(root, 'a.txt'))).toBe(join(realpathSync(root), 'a.txt'));
  });
});

describe('FileSystemStorage.delete()', () => {
  it('removes a file (true), and says false for one that is not there', async () => {
    const { root, storage } = layout();
    await storage.save('inner/a.txt', 'A');
    expect(await storage.delete('inner/a.txt')).toBe(true);
    expect(existsSync(join(root, 'inner/a.txt'))).toBe(false);
    expect(await storage.delete('inner/a.txt')).toBe(false);
    expect(storage.deleteSync('no/such/folder.txt')).toBe(false);
  });

  it('never removes anything outside the root', async () => {
    const { root, outside, storage } = layout();
    const before = snapshot(outside);
    expect(await statusOf(storage.delete('../outside/secret.txt'))).toBe(400);
    expect(await statusOf(storage.delete('out-dir/secret.txt'))).toBe(403);
    // A symlink at the name: the link goes, what it points to stays.
    expect(await storage.delete('out-file.txt')).toBe(true);
    expect(existsSync(join(root, 'out-file.txt'))).toBe(false);
    expect(snapshot(outside)).toEqual(before);
    expect(await statusOf(storage.delete('inner'))).toBe(409);
    expect(existsSync(join(root, 'inner'))).toBe(true);
  });
});

describe('write failures from the system, for real (private mount namespaces)', () => {
  /** Runs test/support/write-errors.mjs on a folder prepared by `setup` (a shell line). */
  function run(scenario: string, setup: string, asNobody = false): Record<string, unknown> {
    const dir = mkdtempSync(join(base, `${scenario}-`));
    const node = `${asNobody ? 'setpriv --reuid=65534 --regid=65534 --clear-groups ' : ''}"${process.execPath}" test/support/write-errors.mjs ${scenario} "${dir}"`;
    const result = spawnSync('unshare', ['-m', 'sh', '-c', `${setup.replaceAll('DIR', `"${dir}"`)} && ${node}`], {
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`${scenario}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  }

  it('a full disk is a 507, leaves no temporary file, and keeps the file it was replacing', () => {
    const result = run('enospc', 'mount -t tmpfs -o size=1m tmpfs DIR');
    expect(result).toEqual({
      scenario: 'enospc',
      stream: '507 Insufficient storage',
      overwrite: '507 Insufficient storage',
      sync: '507 Insufficient storage',
      kept: 'the old file\n',
      files: ['keep.txt'],
    });
  });

  it('a read-only folder and a forbidden one are 403s', () => {
    const expected = { save: '403 File not writable', nested: '403 File not writable', files: [] };
    expect(run('erofs', 'mount -t tmpfs -o ro,size=1m tmpfs DIR')).toEqual({ scenario: 'erofs', ...expected });
    expect(run('eacces', `chmod 755 "${base}" DIR`, true)).toEqual({ scenario: 'eacces', ...expected });
  });

  it('no descriptor left is a 503, and the next save works', () => {
    expect(run('emfile', 'ulimit -n 512')).toEqual({
      scenario: 'emfile',
      full: '503 Too many open files, try again later',
      after: 'saved',
      files: ['a.txt'],
    });
  });
});
