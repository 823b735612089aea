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
import { encodePathSegments } from '../backends/encoding.js';
import { guessContentType } from '../files/content-headers.js';
import { DownloadFile, type DownloadFileOptions } from '../files/download-file.js';
import type { ObjectReadRequest, ObjectReadResult, ObjectSource } from '../files/object-source.js';
import { asBytes, tooLarge, type SaveData } from '../storage/atomic-write.js';
import { unsafeNameReason } from '../storage/path-safety.js';
import type { Storage } from '../storage/storage.interface.js';
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
   * own 404, and Node, when it serves, asks then.
   */
  checkExists?: boolean;
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

/** The status an S3 error stands for when Node passes a conditional or ranged read through. */
function passThroughStatus(error: unknown): number | undefined {
  const { name, $metadata } = (error ?? {}) as AwsError;
  const status = $metadata?.httpStatusCode;
  if (status === 304 || name === 'NotModified') return 304;
  if (status === 412 || name === 'PreconditionFailed') return 412;
  if (status === 416 || name === 'InvalidRange') return 416;
  return undefined;
}

/** `If-Range` holds when it names the object's ETag (strong comparison) or a date not before its change. */
function ifRangeHolds(ifRange: string, head: HeadObjectCommandOutput): boolean {
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return !ifRange.startsWith('W/') && ifRange === head.ETag;
  const date = Date.parse(ifRange);
  return !Number.isNaN(date) && head.LastModified !== undefined && head.LastModified.getTime() <= date;
}

/** `If-Match` (strong comparison, `*` for any), else `If-Unmodified-Since`, against the object. */
function preconditionFails(request: ObjectReadRequest, head: HeadObjectCommandOutput): boolean {
  if (request.ifMatch !== undefined) {
    const tags = request.ifMatch.split(',').map((tag) => tag.trim());
    return !tags.includes('*') && !(head.ETag !== undefined && tags.includes(head.ETag));
  }
  if (request.ifUnmodifiedSince !== undefined && head.LastModified !== undefined) {
    const date = Date.parse(request.ifUnmodifiedSince);
    return !Number.isNaN(date) && Math.floor(head.LastModified.getTime() / 1000) * 1000 > date;
  }
  return false;
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
    this.#sdk = load<ClientS3>('@aws-sdk/client-s3', 'its commands');
    const presigner = load<Presigner>('@aws-sdk/s3-request-presigner', 'signed URLs');
    this.#client = options.client;
    this.bucket = options.bucket;
    this.signedUrls = new SignedUrls(options.client, options.bucket, this.#sdk, presigner);
    this.prefix = options.prefix ?? '';
    const baseUrl = options.baseUrl ?? '/';
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.presignExpiresIn = expires;
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#checkExists = options.checkExists ?? true;
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

  async exists(name: string): Promise<boolean> {
    try {
      await this.#head(name);
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
    let head = this.#checkExists ? await this.#head(name) : undefined;
    const file = DownloadFile.forObject(
      {
        url: this.url(name),
        name: name.split('/').pop()!,
        size: head?.ContentLength,
        modifiedAt: head?.LastModified,
        etag: head?.ETag,
      },
      options,
    );
    const signedUrl = await this.signedUrls.sign(key, file.contentType, file.disposition, this.presignExpiresIn);
    const source: ObjectSource = {
      signedUrl,
      read: async (request) => this.#read(key, (head ??= await this.#head(name)), request),
    };
    return file.withObject(source);
  }

  /**
   * Uploads `data` under `name` (multipart for streams, with `@aws-sdk/lib-storage`) and resolves
   * with the name. S3 replaces an existing object: a download running meanwhile gets the old
   * object or the new one, whole. Past `maxBytes`, a 413 while the body streams in.
   */
  async save(name: string, data: SaveData, options: S3SaveOptions = {}): Promise<string> {
    const key = this.key(name);
    const maxBytes = options.maxBytes ?? this.#maxBytes;
    const contentType = options.contentType ?? guessContentType(name);
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

  /** Removes an object: true when it was there. */
  async delete(name: string): Promise<boolean> {
    if (!(await this.exists(name))) return false;
    try {
      await this.#client.send(new this.#sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
      return true;
    } catch (error) {
      throw s3ErrorToHttp(error);
    }
  }

  async #head(name: string): Promise<HeadObjectCommandOutput> {
    try {
      return await this.#client.send(new this.#sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
    } catch (error) {
      throw s3ErrorToHttp(error);
    }
  }

  /** Node's read: GetObject (HeadObject for HEAD) with the client's Range and conditions. */
  async #read(key: string, head: HeadObjectCommandOutput, request: ObjectReadRequest): Promise<ObjectReadResult> {
    // Preconditions are checked against what download() saw, as well as passed on: not every
    // S3-compatible store implements If-Match (RFC 9110 §13.2.2 order).
    if (preconditionFails(request, head)) return { status: 412, headers: validators(head) };
    // S3 has no If-Range: a range whose condition fails becomes the whole object, as RFC 9110 says.
    const range =
      request.range && (!request.ifRange || ifRangeHolds(request.ifRange, head)) ? request.range : undefined;
    const conditions = {
      Bucket: this.bucket,
      Key: key,
      Range: range,
      IfNoneMatch: request.ifNoneMatch,
      IfMatch: request.ifMatch,
      IfModifiedSince: request.ifModifiedSince ? new Date(request.ifModifiedSince) : undefined,
      IfUnmodifiedSince: request.ifUnmodifiedSince ? new Date(request.ifUnmodifiedSince) : undefined,
    };
    const command =
      request.method === 'HEAD'
        ? new this.#sdk.HeadObjectCommand(conditions)
        : new this.#sdk.GetObjectCommand(conditions);
    let output: GetObjectCommandOutput | HeadObjectCommandOutput;
    try {
      output = await this.#client.send(command, {
        abortSignal: request.signal,
      });
    } catch (error) {
      const status = passThroughStatus(error);
      if (status === 416) return { status, headers: { 'Content-Range': `bytes */${head.ContentLength ?? 0}` } };
      if (status) return { status, headers: validators(head) };
      throw s3ErrorToHttp(error);
    }
    const headers: Record<string, string> = { ...validators(output), 'Accept-Ranges': 'bytes' };
    if (output.ContentLength !== undefined) headers['Content-Length'] = String(output.ContentLength);
    const contentRange = (output as GetObjectCommandOutput).ContentRange;
    if (contentRange) headers['Content-Range'] = contentRange;
    const status = output.$metadata.httpStatusCode ?? (contentRange ? 206 : 200);
    return { status, headers, body: (output as GetObjectCommandOutput).Body as Readable | undefined };
  }
}

function validators(output: { ETag?: string; LastModified?: Date }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (output.ETag) headers.ETag = output.ETag;
  if (output.LastModified) headers['Last-Modified'] = output.LastModified.toUTCString();
  return headers;
}
