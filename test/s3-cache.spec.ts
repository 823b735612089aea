import { jest } from '@jest/globals';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Storage, type S3StorageOptions } from 'nestjs-downloadview/s3';
import { HeadCache } from '../src/s3/head-cache.js';
import { S3RVER_CREDENTIALS, startS3, type RunningS3, seededBytes } from './support/s3.js';
import { fetchBytes, sha256 } from './support/servers.js';

// S3Storage's caches against a real S3-protocol server that checks every signature (@20minutes/s3rver):
// what HeadObject said (headCacheTtl, cacheMaxEntries) and the signed URLs it reuses. The caches read
// the time from Date.now(), which the tests set (`clock`); the SDK signs its requests at that time
// too, which s3rver accepts within its 15 minutes of skew, and s3rver judges a signed URL's expiry
// by its own clock.
const BUCKET = 'cached-media';
let s3: RunningS3;
/** A client that no storage uses: changes "behind the storage's back". */
let outside: S3Client;

const realNow = Date.now.bind(Date);
/** What Date.now() returns in a test (undefined: the real time). */
let clock: number | undefined;
/** A whole second a little before now: URLs signed from there are within their lifetime for s3rver. */
const wholeSecond = () => Math.floor(realNow() / 1000) * 1000 - 1000;

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  outside = s3.client();
}, 60_000);
afterAll(async () => {
  await s3?.stop();
});
beforeEach(() => {
  clock = undefined;
  jest.spyOn(Date, 'now').mockImplementation(() => clock ?? realNow());
});
afterEach(() => {
  jest.restoreAllMocks();
});

/** What a client sends, by command name; `failNext` and `hold` act on its next HeadObject. */
interface Probe {
  sent: string[];
  /** HeadObject answers received. */
  answered: number;
  /** Thrown instead of sending the next HeadObject. */
  failNext?: Error;
  /** Awaited after a HeadObject's answer came, before the storage gets it. */
  hold?: Promise<void>;
}

/** A client of s3rver whose commands are counted (an SDK middleware, where every command starts). */
function probedClient(client = s3.client()): { client: S3Client; probe: Probe } {
  const probe: Probe = { sent: [], answered: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '?';
      probe.sent.push(command);
      if (command === 'HeadObjectCommand' && probe.failNext) {
        const error = probe.failNext;
        probe.failNext = undefined;
        throw error;
      }
      const output = await next(args);
      if (command === 'HeadObjectCommand') {
        probe.answered++;
        if (probe.hold) await probe.hold;
      }
      return output;
    },
    { step: 'initialize', name: 'downloadviewTestProbe' },
  );
  return { client, probe };
}

const heads = (probe: Probe) => probe.sent.filter((command) => command === 'HeadObjectCommand').length;

function storageWith(options: Partial<S3StorageOptions> = {}) {
  const { client, probe } = probedClient();
  const storage = new S3Storage({ client, bucket: BUCKET, prefix: 'cache/', ...options });
  return { storage, probe };
}

const bytes = seededBytes;

async function putOutside(name: string, body: Buffer | string): Promise<void> {
  await outside.send(new PutObjectCommand({ Bucket: BUCKET, Key: `cache/${name}`, Body: body }));
}

async function deleteOutside(name: string): Promise<void> {
  await outside.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `cache/${name}` }));
}

/** When a signed URL was signed (its X-Amz-Date), in ms. */
function signedAt(url: string): number {
  const date = new URL(url).searchParams.get('X-Amz-Date')!;
  return Date.parse(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
}

/** Until when a signed URL is good, in ms. */
const goodUntil = (url: string) => signedAt(url) + Number(new URL(url).searchParams.get('X-Amz-Expires')) * 1000;

const signedUrl = async (promise: Promise<{ object?: { signedUrl: string } }>) => (await promise).object!.signedUrl;

describe('what HeadObject said (headCacheTtl)', () => {
  it('a second download() within the TTL sends no HeadObject; one after the TTL does', async () => {
    const { storage, probe } = storageWith({ headCacheTtl: 1000 });
    await storage.save('ttl.bin', bytes(1234, 1));
    const base = wholeSecond();
    clock = base;
    const first = await storage.download('ttl.bin');
    expect(heads(probe)).toBe(1);
    expect(first.size).toBe(1234);
    clock = base + 999;
    const second = await storage.download('ttl.bin');
    expect(heads(probe)).toBe(1);
    expect([second.size, second.etag, second.modifiedAt]).toEqual([first.size, first.etag, first.modifiedAt]);
    clock = base + 1000;
    await storage.download('ttl.bin');
    expect(heads(probe)).toBe(2);
    clock = base + 1500;
    await storage.download('ttl.bin');
    expect(heads(probe)).toBe(2);
    // A clock set back makes what was kept of unknown age: asked again.
    clock = base - 60_000;
    await storage.download('ttl.bin');
    expect(heads(probe)).toBe(3);
  });

  it('is 5 s by default; 0 (or cacheMaxEntries: 0) asks the bucket on every download', async () => {
    const base = wholeSecond();
    clock = base;
    const byDefault = storageWith();
    await byDefault.storage.save('default.txt', 'x');
    await byDefault.storage.download('default.txt');
    clock = base + 4999;
    await byDefault.storage.download('default.txt');
    expect(heads(byDefault.probe)).toBe(1);
    clock = base + 5000;
    await byDefault.storage.download('default.txt');
    expect(heads(byDefault.probe)).toBe(2);

    for (const options of [{ headCacheTtl: 0 }, { cacheMaxEntries: 0 }]) {
      clock = base;
      const { storage, probe } = storageWith(options);
      await Promise.all([storage.download('default.txt'), storage.download('default.txt')]);
      await storage.download('default.txt');
      expect(heads(probe)).toBe(3);
      expect(storage.headCacheSize).toBe(0);
    }
  });

  it('downloads of one object at the same time share one HeadObject, a missing one too', async () => {
    const { storage, probe } = storageWith();
    await storage.save('herd.bin', bytes(5000, 2));
    const files = await Promise.all(Array.from({ length: 20 }, () => storage.download('herd.bin')));
    expect(heads(probe)).toBe(1);
    expect(new Set(files.map((file) => file.size))).toEqual(new Set([5000]));

    const missing = await Promise.allSettled(Array.from({ length: 5 }, () => storage.download('no-herd.bin')));
    expect(missing.map((result) => result.status)).toEqual(Array(5).fill('rejected'));
    for (const result of missing) expect((result as PromiseRejectedResult).reason).toMatchObject({ status: 404 });
    expect(heads(probe)).toBe(2);
  });

  it('a missing object is never remembered: a 404 each time, there as soon as anything uploads it', async () => {
    const { storage, probe } = storageWith({ headCacheTtl: 60_000 });
    clock = wholeSecond();
    await expect(storage.download('later.txt')).rejects.toMatchObject({ status: 404 });
    await expect(storage.download('later.txt')).rejects.toMatchObject({ status: 404 });
    expect(heads(probe)).toBe(2);
    await putOutside('later.txt', 'here now');
    expect((await storage.download('later.txt')).size).toBe(8);
    expect(heads(probe)).toBe(3);
    expect(storage.headCacheSize).toBe(1);
  });

  it('errors are never remembered: the next download asks again', async () => {
    const { storage, probe } = storageWith({ headCacheTtl: 60_000 });
    await storage.save('flaky.txt', 'flaky');
    probe.failNext = Object.assign(new Error('Slow Down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    await expect(storage.download('flaky.txt')).rejects.toMatchObject({ status: 502 });
    probe.failNext = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(storage.download('flaky.txt')).rejects.toMatchObject({ status: 403 });
    expect(storage.headCacheSize).toBe(0);
    expect((await storage.download('flaky.txt')).size).toBe(5);
    expect(heads(probe)).toBe(3);
  });

  it('delete() and save() through the storage forget the object at once', async () => {
    // A TTL of a minute: only the invalidation can explain what the downloads see.
    const { storage, probe } = storageWith({ headCacheTtl: 60_000 });
    clock = wholeSecond();
    await storage.save('replaced.txt', 'ten bytes!');
    const before = await storage.download('replaced.txt');
    expect(before.size).toBe(10);
    await storage.save('replaced.txt', Buffer.from('twenty bytes, twenty'));
    const sent = heads(probe);
    const after = await storage.download('replaced.txt');
    expect(heads(probe)).toBe(sent + 1);
    expect(after.size).toBe(20);
    expect(after.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(after.etag).not.toBe(before.etag);
    // Its new signed URL gets the new bytes.
    expect((await fetchBytes(after.object!.signedUrl)).body.toString()).toBe('twenty bytes, twenty');

    expect(await storage.delete('replaced.txt')).toBe(true);
    await expect(storage.download('replaced.txt')).rejects.toMatchObject({ status: 404 });
    expect(storage.headCacheSize).toBe(0);
    expect(await storage.delete('replaced.txt')).toBe(false);
  });

  it('an answer on its way when the object is replaced is not kept', async () => {
    const { storage, probe } = storageWith({ headCacheTtl: 60_000 });
    await storage.save('race.txt', 'old');
    let release!: () => void;
    probe.hold = new Promise<void>((resolve) => (release = resolve));
    const during = storage.download('race.txt');
    while (probe.answered === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The bucket answered "3 bytes"; before the storage has that answer, the object is replaced.
    probe.hold = undefined;
    await storage.save('race.txt', 'newer');
    release();
    expect((await during).size).toBe(3);
    expect((await storage.download('race.txt')).size).toBe(5);
    expect(heads(probe)).toBe(2);
  });

  it('an object deleted behind its back is a 404 once the TTL passes (and exists() says so at once)', async () => {
    const { storage, probe } = storageWith({ headCacheTtl: 1000 });
    await putOutside('ghost.txt', 'boo');
    const base = wholeSecond();
    clock = base;
    await storage.download('ghost.txt');
    await deleteOutside('ghost.txt');
    clock = base + 999;
    // Still described as it was, within the TTL; whoever fetches it gets the bucket's 404.
    const stale = await storage.download('ghost.txt');
    expect(heads(probe)).toBe(1);
    expect((await fetchBytes(stale.object!.signedUrl)).status).toBe(404);
    clock = base + 1000;
    await expect(storage.download('ghost.txt')).rejects.toMatchObject({ status: 404 });
    expect(heads(probe)).toBe(2);

    // exists() asks the bucket every time, and what it learns the downloads learn too.
    await putOutside('ghost2.txt', 'boo');
    clock = base;
    await storage.download('ghost2.txt');
    await deleteOutside('ghost2.txt');
    expect(await storage.exists('ghost2.txt')).toBe(false);
    await expect(storage.download('ghost2.txt')).rejects.toMatchObject({ status: 404 });
  });

  it('never holds more answers (or signed URLs) than cacheMaxEntries, forgetting the oldest', async () => {
    const { storage, probe } = storageWith({ cacheMaxEntries: 3, headCacheTtl: 60_000 });
    const names = Array.from({ length: 8 }, (_, i) => `bound-${i}.txt`);
    for (const name of names) await storage.save(name, name);
    clock = wholeSecond();
    for (const name of names) {
      await storage.download(name);
      expect(storage.headCacheSize).toBeLessThanOrEqual(3);
      expect(storage.signedUrls.reusable).toBeLessThanOrEqual(3);
    }
    expect([storage.headCacheSize, storage.signedUrls.reusable]).toEqual([3, 3]);
    expect(heads(probe)).toBe(8);
    // 5, 6 and 7 are kept; 0 comes back in the place of 5, the oldest (the closest to its end).
    await storage.download('bound-7.txt');
    await storage.download('bound-5.txt');
    expect(heads(probe)).toBe(8);
    await storage.download('bound-0.txt');
    expect(heads(probe)).toBe(9);
    await storage.download('bound-6.txt');
    await storage.download('bound-0.txt');
    expect(heads(probe)).toBe(9);
    await storage.download('bound-5.txt');
    expect(heads(probe)).toBe(10);
    expect([storage.headCacheSize, storage.signedUrls.reusable]).toEqual([3, 3]);
  });

  it('forgets what has expired, so that it holds only the objects in use', async () => {
    const { storage } = storageWith({ headCacheTtl: 1000, presignExpiresIn: 60 });
    const names = Array.from({ length: 6 }, (_, i) => `expiring-${i}.txt`);
    for (const name of names) await storage.save(name, name);
    const base = wholeSecond();
    clock = base;
    for (const name of names) await storage.download(name);
    expect([storage.headCacheSize, storage.signedUrls.reusable]).toEqual([6, 6]);
    clock = base + 1000;
    await storage.download('expiring-0.txt');
    // The answers are a second old: gone. The URLs have 59 s left: still reused.
    expect([storage.headCacheSize, storage.signedUrls.reusable]).toEqual([1, 6]);
    clock = base + 30_000;
    await storage.download('expiring-1.txt');
    expect([storage.headCacheSize, storage.signedUrls.reusable]).toEqual([1, 1]);
  });

  it('is bounded at 10,000 answers by default', async () => {
    const cache = new HeadCache(5000, 10_000);
    for (let i = 0; i < 10_050; i++) {
      await cache.get(`key-${i}`, () => Promise.resolve({ ContentLength: i, $metadata: {} }));
    }
    expect(cache.size).toBe(10_000);
    let asked = 0;
    const ask = () => Promise.resolve({ ContentLength: -1, $metadata: {} }).finally(() => asked++);
    expect((await cache.get('key-10049', ask)).ContentLength).toBe(10_049);
    expect((await cache.get('key-0', ask)).ContentLength).toBe(-1);
    expect(asked).toBe(1);
  });
});

describe('signed URLs reused', () => {
  it('the same object, type and disposition get the same URL, which s3rver still serves byte for byte', async () => {
    const { storage } = storageWith();
    const data = bytes(100_000, 3);
    await storage.save('reused.bin', data);
    const base = wholeSecond();
    clock = base;
    const first = await storage.download('reused.bin');
    clock = base + 20_000;
    const again = await storage.download('reused.bin');
    // Signed anew, it would say base + 20 s.
    expect(again.object!.signedUrl).toBe(first.object!.signedUrl);
    expect(signedAt(again.object!.signedUrl)).toBe(base);
    const res = await fetchBytes(again.object!.signedUrl);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(data));
    expect(res.headers.get('content-type')).toBe(again.contentType);
    expect(res.headers.get('content-disposition')).toBe(again.disposition);

    // Another disposition or type is another URL, which carries its own headers.
    const inline = await storage.download('reused.bin', { inline: true });
    const typed = await storage.download('reused.bin', { contentType: 'application/x-test' });
    const urls = new Set([again.object!.signedUrl, inline.object!.signedUrl, typed.object!.signedUrl]);
    expect(urls.size).toBe(3);
    const inlineRes = await fetchBytes(inline.object!.signedUrl);
    expect(inlineRes.headers.get('content-disposition')).toBe(inline.disposition);
    expect(inline.disposition).toMatch(/^inline/);
    expect(sha256(inlineRes.body)).toBe(sha256(data));
    expect((await fetchBytes(typed.object!.signedUrl)).headers.get('content-type')).toBe('application/x-test');

    // Without reuse, every download signs its own.
    const { storage: unreused } = storageWith({ cacheMaxEntries: 0 });
    clock = base;
    const a = await signedUrl(unreused.download('reused.bin'));
    clock = base + 20_000;
    expect(await signedUrl(unreused.download('reused.bin'))).not.toBe(a);
  });

  it('is signed anew once half its lifetime passed: a URL handed out always has more than half left', async () => {
    const { storage } = storageWith({ presignExpiresIn: 60, headCacheTtl: 600_000 });
    await storage.save('half.txt', 'half');
    const base = wholeSecond();
    clock = base + 400;
    const first = await signedUrl(storage.download('half.txt'));
    expect(signedAt(first)).toBe(base);
    clock = base + 29_999;
    expect(await signedUrl(storage.download('half.txt'))).toBe(first);
    clock = base + 30_000;
    const second = await signedUrl(storage.download('half.txt'));
    expect(second).not.toBe(first);
    expect(signedAt(second)).toBe(base + 30_000);
    expect((await fetchBytes(second)).body.toString()).toBe('half');

    // Three lifetimes, at uneven steps: every URL has more than 30 s left, and few were signed.
    const seen = new Set<string>();
    for (let t = base + 30_001; t < base + 210_000; t += 737) {
      clock = t;
      const url = await signedUrl(storage.download('half.txt'));
      expect(signedAt(url)).toBeLessThanOrEqual(t);
      expect(goodUntil(url) - t).toBeGreaterThan(30_000);
      seen.add(url);
    }
    expect(seen.size).toBeGreaterThanOrEqual(6);
    expect(seen.size).toBeLessThanOrEqual(7);
  });

  it('nor is one reused past half of what its credentials have left', async () => {
    const base = wholeSecond();
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: () => Promise.resolve({ ...S3RVER_CREDENTIALS, expiration: new Date(base + 40_000) }),
    });
    try {
      const storage = new S3Storage({ client, bucket: BUCKET, prefix: 'cache/', checkExists: false });
      clock = base;
      const first = await signedUrl(storage.download('any.txt'));
      // Good until base + 40 s (the credentials), so reused while more than 30 s of that are left.
      clock = base + 9_999;
      expect(await signedUrl(storage.download('any.txt'))).toBe(first);
      clock = base + 10_000;
      expect(await signedUrl(storage.download('any.txt'))).not.toBe(first);
    } finally {
      client.destroy();
    }
  });
});

describe('options', () => {
  it('refuses a headCacheTtl or cacheMaxEntries that is not a whole number, 0 or more', () => {
    const client = s3.client();
    for (const headCacheTtl of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5000' as never]) {
      expect(() => new S3Storage({ client, bucket: BUCKET, headCacheTtl })).toThrow(
        new TypeError('S3Storage: "headCacheTtl" must be a whole number of milliseconds, 0 or more (0: no cache)'),
      );
    }
    for (const cacheMaxEntries of [-1, 0.5, Number.NaN, '10' as never]) {
      expect(() => new S3Storage({ client, bucket: BUCKET, cacheMaxEntries })).toThrow(
        new TypeError('S3Storage: "cacheMaxEntries" must be a whole number, 0 or more (0: no cache)'),
      );
    }
    expect(() => new S3Storage({ client, bucket: BUCKET, headCacheTtl: 0, cacheMaxEntries: 0 })).not.toThrow();
  });
});
