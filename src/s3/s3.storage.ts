import {
  BadGatewayException,
  BadRequestException,
  ForbiddenException,
  HttpException,
  NotFoundException,
} from '@nestjs/common';
import type { GetObjectCommandOutput, HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { createRequire } from 'node:module';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodePathSegments } from '../paths/path-encoding.js';
import { guessContentType } from '../files/content-headers.js';
import { DownloadFile, type DownloadFileOptions } from '../files/download-file.js';
import { storageFailed, uploadEnded } from '../metrics/storage-events.js';
import { ObjectChangedError, type ObjectStat } from '../sources/object.source.js';
import { asBytes, tooLarge, type SaveData } from '../storage/atomic-write.js';
import { unsafeNameReason } from '../storage/path-safety.js';
import type { Storage } from '../storage/storage.interface.js';
import { HeadCache, type ObjectHead } from './head-cache.js';
import { SignedUrls } from './signed-urls.js';

type ClientS3 = typeof import('@aws-sdk/client-s3');
type Presigner = typeof import('@aws-sdk/s3-request-presigner');
type LibStorage = typeof import('@aws-sdk/lib-storage');

export interface S3StorageOptions {
  /** An `S3Client` from `@aws-sdk/client-s3`, configured for the bucket's endpoint and credentials. */
  client: S3Client;
  bucket: string;
  /** Prepended to every name to make the object key, e.g. `media/`. */
  prefix?: string;
  /** Public URL prefix of the files (what `sourceUrl` rules match). Default `/`. */
  baseUrl?: string;
  /** Lifetime of the signed URLs handed to nginx or to the client, in seconds. Default 60. */
  presignExpiresIn?: number;
  /** The largest body `save()` accepts, in bytes (413 past it). Default: no limit. */
  maxBytes?: number;
  /**
   * `download()` asks the bucket whether the object is there (HeadObject), so that a missing one is
   * the app's 404 whoever sends it. Default true. Behind nginx and sample/nginx-s3.conf, false saves
   * that round trip (most of the app's cost per download): nginx answers a missing object with its
   * own 404, and Node, when it serves, asks then. With `headCacheTtl`, a hot object is asked about
   * once per that time, not per download.
   */
  checkExists?: boolean;
  /**
   * How long what HeadObject said of an object (its size, ETag, date) is reused by the next
   * downloads of it, in milliseconds. Default 5000; 0 asks the bucket on every download.
   *
   * Only an object that is there is remembered: a missing one is asked about every time, so it is
   * a 404 at once, and appears as soon as anything uploads it. `save()` and `delete()` through
   * this storage forget the object at once; `exists()` and `delete()` always ask the bucket.
   * Changed behind this storage's back (another app instance, the console), an object may be
   * described as it was for up to this long: one deleted meanwhile is still a 404 (nginx and Node
   * then get the bucket's), one replaced may be announced with its former size or ETag. Downloads
   * of one object share one HeadObject on its way.
   */
  headCacheTtl?: number;
  /**
   * The most objects whose HeadObject answer is remembered, and the most signed URLs kept for
   * reuse (past it, the oldest are forgotten first; expired ones go anyway). Default 10,000; 0 keeps
   * none: every download asks the bucket and signs a new URL.
   *
   * A signed URL is reused for the same object, content type and disposition while more than half
   * of its lifetime (`presignExpiresIn`) is left, so most downloads sign nothing.
   */
  cacheMaxEntries?: number;
}

/** Per-call options of `S3Storage.save()`. */
export interface S3SaveOptions {
  maxBytes?: number;
  /** Stored with the object (default: guessed from the name, as downloads do). */
  contentType?: string;
}

const requireOptional = createRequire(import.meta.url);

/** Loads an optional peer dependency, or says which one to install. */
function load<T>(name: string, why: string): T {
  try {
    return requireOptional(name) as T;
  } catch (error) {
    throw new Error(`S3Storage needs ${name} for ${why}: npm install ${name}`, { cause: error });
  }
}

interface AwsError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * An S3 error as HTTP, naming no bucket, key or endpoint: missing → 404, denied → 403, anything
 * else (unreachable, 5xx, a wrong secret) → 502.
 */
export function s3ErrorToHttp(error: unknown): HttpException {
  if (error instanceof HttpException) return error;
  const { name, $metadata } = (error ?? {}) as AwsError;
  const status = $metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new NotFoundException('File not found');
  if (name === 'AccessDenied' || name === 'Forbidden' || (status === 403 && name !== 'SignatureDoesNotMatch')) {
    return new ForbiddenException('File not readable');
  }
  return new BadGatewayException('File storage unavailable');
}

/** The store refused the read's `If-Match`: the object was replaced since it was stat'ed. */
function changedMeanwhile(error: unknown): boolean {
  const { name, $metadata } = (error ?? {}) as AwsError;
  return $metadata?.httpStatusCode === 412 || name === 'PreconditionFailed';
}

function counting(maxBytes: number): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      done(total > maxBytes ? tooLarge(maxBytes) : null, chunk);
    },
  });
}

/**
 * Files in an S3 bucket (or any S3-compatible store), for apps that run on many machines: the same
 * `download()` / `url()` / `save()` as `FileSystemStorage`. A downloaded object is served three
 * ways: by nginx from the private bucket (an `X-Accel-Redirect` to an internal location that
 * proxies the signed URL), by a redirect to the signed URL (`backend: 'redirect'`), or by Node,
 * which streams `GetObject` and passes `Range` and conditional requests through.
 *
 * From its own entry point, `nestjs-downloadview/s3`: apps without S3 never load the AWS SDK.
 */
export class S3Storage implements Storage {
  readonly bucket: string;
  readonly prefix: string;
  readonly baseUrl: string;
  readonly presignExpiresIn: number;
  readonly #client: S3Client;
  readonly #sdk: ClientS3;
  /** @internal How this storage signs GET URLs (exposed for the tests that compare them with the SDK's). */
  readonly signedUrls: SignedUrls;
  readonly #maxBytes: number;
  readonly #checkExists: boolean;
  /** What HeadObject said, per key (undefined: `headCacheTtl` or `cacheMaxEntries` is 0). */
  readonly #heads: HeadCache | undefined;

  constructor(options: S3StorageOptions) {
    if (!options || typeof options.bucket !== 'string' || options.bucket === '') {
      throw new TypeError('S3Storage: "bucket" is required');
    }
    if (!options.client || typeof (options.client as { send?: unknown }).send !== 'function') {
      throw new TypeError('S3Storage: "client" must be an S3Client from @aws-sdk/client-s3');
    }
    const expires = options.presignExpiresIn ?? 60;
    if (!Number.isInteger(expires) || expires < 1 || expires > 604800) {
      throw new TypeError('S3Storage: "presignExpiresIn" must be a whole number of seconds from 1 to 604800');
    }
    const headCacheTtl = options.headCacheTtl ?? 5000;
    if (!Number.isInteger(headCacheTtl) || headCacheTtl < 0) {
      throw new TypeError('S3Storage: "headCacheTtl" must be a whole number of milliseconds, 0 or more (0: no cache)');
    }
    const cacheMaxEntries = options.cacheMaxEntries ?? 10_000;
    if (!Number.isInteger(cacheMaxEntries) || cacheMaxEntries < 0) {
      throw new TypeError('S3Storage: "cacheMaxEntries" must be a whole number, 0 or more (0: no cache)');
    }
    this.#sdk = load<ClientS3>('@aws-sdk/client-s3', 'its commands');
    const presigner = load<Presigner>('@aws-sdk/s3-request-presigner', 'signed URLs');
    this.#client = options.client;
    this.bucket = options.bucket;
    this.signedUrls = new SignedUrls(options.client, options.bucket, this.#sdk, presigner, cacheMaxEntries);
    this.prefix = options.prefix ?? '';
    const baseUrl = options.baseUrl ?? '/';
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.presignExpiresIn = expires;
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#checkExists = options.checkExists ?? true;
    this.#heads = headCacheTtl > 0 && cacheMaxEntries > 0 ? new HeadCache(headCacheTtl, cacheMaxEntries) : undefined;
  }

  /** @internal How many HeadObject answers are remembered now (for the tests of the bound). */
  get headCacheSize(): number {
    return this.#heads?.size ?? 0;
  }

  /** The object key of a name: refused (400) like a file name that leaves its folder. */
  key(name: string): string {
    const reason = unsafeNameReason(name);
    if (reason) throw new BadRequestException(`Invalid file name: it ${reason}`);
    if (name.split('/').some((segment) => segment === '.' || segment === '')) {
      throw new BadRequestException('Invalid file name: it has an empty or "." segment');
    }
    return this.prefix + name;
  }

  url(name: string): string {
    this.key(name);
    return this.baseUrl + encodePathSegments(name);
  }

  /** Whether the object is there, as the bucket says now (never from the cache, which it refreshes). */
  async exists(name: string): Promise<boolean> {
    try {
      await this.#head(name, true);
      return true;
    } catch (error) {
      if (error instanceof NotFoundException) return false;
      throw error;
    }
  }

  /**
   * The object as a DownloadFile: a 404 when it is missing. Its signed URL answers with the
   * file's own Content-Type and Content-Disposition (`response-content-*`), so nginx and a
   * redirected client get the app's headers, not the bucket's.
   */
  async download(name: string, options: DownloadFileOptions = {}): Promise<DownloadFile> {
    const key = this.key(name);
    const known = this.#checkExists ? objectStat(await this.#headOrReport(name)) : undefined;
    const file = DownloadFile.forObject({ url: this.url(name), name: name.split('/').pop()!, known }, options);
    const signedUrl = await this.signedUrls.sign(key, file.contentType, file.disposition, this.presignExpiresIn);
    // Node asks for the object's stat only when it sends it itself, then reuses what download() saw.
    let stat = known;
    return file.withObject({
      signedUrl,
      stat: async (fresh = false) =>
        !fresh && stat ? stat : (stat = objectStat(await this.#headOrReport(name, fresh))),
      read: (range, signal, etag) => this.#read(key, range, signal, etag),
    });
  }

  /**
   * Uploads `data` under `name` (multipart for streams, with `@aws-sdk/lib-storage`) and resolves
   * with the name. S3 replaces an existing object: a download running meanwhile gets the old
   * object or the new one, whole. Past `maxBytes`, a 413 while the body streams in.
   */
  async save(name: string, data: SaveData, options: S3SaveOptions = {}): Promise<string> {
    try {
      const stored = await this.#save(name, data, options);
      uploadEnded('s3');
      return stored;
    } catch (error) {
      uploadEnded('s3', error);
      throw error;
    }
  }

  async #save(name: string, data: SaveData, options: S3SaveOptions): Promise<string> {
    const key = this.key(name);
    const maxBytes = options.maxBytes ?? this.#maxBytes;
    const contentType = options.contentType ?? guessContentType(name);
    try {
      return await this.#upload(name, key, data, maxBytes, contentType);
    } finally {
      // Whether it went up or not (a failed multipart upload leaves the old object, or none): what
      // HeadObject said before is no longer known to hold, nor is an answer still on its way.
      this.#heads?.invalidate(key);
    }
  }

  async #upload(name: string, key: string, data: SaveData, maxBytes: number, contentType: string): Promise<string> {
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) {
        const body = asBytes(data);
        if (body.length > maxBytes) throw tooLarge(maxBytes);
        await this.#client.send(
          new this.#sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
        );
        return name;
      }
      const { Upload } = load<LibStorage>('@aws-sdk/lib-storage', 'streamed uploads');
      const source = data instanceof Readable ? data : Readable.from(data);
      const limited = counting(maxBytes);
      const upload = new Upload({
        client: this.#client,
        params: { Bucket: this.bucket, Key: key, Body: limited, ContentType: contentType },
      });
      await Promise.all([pipeline(source, limited), upload.done()]).catch(async (error: unknown) => {
        await upload.abort().catch(() => undefined);
        throw error;
      });
      return name;
    } catch (error) {
      throw s3ErrorToHttp(error);
    }
  }

  /** Removes an object: true when it was there (as the bucket says, not the cache). */
  async delete(name: string): Promise<boolean> {
    const key = this.key(name);
    try {
      if (!(await this.exists(name))) return false;
      await this.#client.send(new this.#sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      throw storageFailed('s3', s3ErrorToHttp(error));
    } finally {
      // Gone (or found missing, or unknown after an error): the next download asks the bucket.
      this.#heads?.invalidate(key);
    }
  }

  /**
   * What HeadObject says of the object: from the cache when it is younger than `headCacheTtl`
   * (unless `fresh`), else asked once for every caller that wants it meanwhile. A missing object
   * (404) and an error are never kept.
   */
  async #head(name: string, fresh = false): Promise<HeadObjectCommandOutput> {
    const key = this.key(name);
    if (!this.#heads) return this.#headObject(key);
    const send = () => this.#headObject(key);
    return fresh ? this.#heads.ask(key, send) : this.#heads.get(key, send);
  }

  /** `#head()` for a download: its failure is one for metrics too (exists() expects some 404s). */
  async #headOrReport(name: string, fresh = false): Promise<HeadObjectCommandOutput> {
    try {
      return await this.#head(name, fresh);
    } catch (error) {
      throw storageFailed('s3', error);
    }
  }

  /** HeadObject itself: the size and validators, the error as HTTP. */
  async #headObject(key: string): Promise<ObjectHead> {
    try {
      const { ContentLength, LastModified, ETag } = await this.#client.send(
        new this.#sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      return { ContentLength, LastModified, ETag, $metadata: {} };
    } catch (error) {
      throw s3ErrorToHttp(error);
    }
  }

  /**
   * Node's read of the bytes it sends: GetObject of one range or the whole object. The version must
   * be the one the answer's headers describe: `If-Match` asks the store for it, and, as not every
   * S3-compatible store honours that (s3rver does not), the ETag it answers with is checked too.
   */
  async #read(
    key: string,
    range: { start: number; end: number } | undefined,
    signal: AbortSignal,
    etag: string | undefined,
  ): Promise<Readable> {
    let output: GetObjectCommandOutput;
    try {
      output = await this.#client.send(
        new this.#sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range && `bytes=${range.start}-${range.end}`,
          IfMatch: etag,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      if (etag && changedMeanwhile(error)) throw new ObjectChangedError();
      throw storageFailed('s3', s3ErrorToHttp(error));
    }
    const body = output.Body as Readable;
    if (etag && output.ETag !== undefined && output.ETag !== etag) {
      body.destroy();
      throw new ObjectChangedError();
    }
    return body;
  }
}

/** What HeadObject said, as a DownloadFile keeps it. */
function objectStat(head: HeadObjectCommandOutput): ObjectStat {
  return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified, etag: head.ETag };
}
