import { StreamableFile } from '@nestjs/common';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { compileOptions } from '../src/config/compile-options.js';
import {
  decide,
  NOT_A_FILE,
  NOT_CONVERTED,
  NO_RULE,
  SYMLINK_OUT,
  VIRTUAL,
  type Decision,
} from '../src/decision/decide.js';
import { buildRoutePlan } from '../src/decision/route-plan.js';
import type { DownloadModuleOptions, XSendfileOptions } from '../src/download.interfaces.js';
import { DownloadFile } from '../src/files/download-file.js';
import { sourceOf } from '../src/files/source-of.js';
import type { IncomingRequest } from '../src/platform/platform.js';
import type { DownloadSource } from '../src/sources/download-source.js';
import { DiskSource } from '../src/sources/disk.source.js';
import { ObjectFileSource } from '../src/sources/object.source.js';

// decide() as a table: a file, a route's plan and a request in, "delegate with these headers" or
// "Node serves, for this reason" out. Its only look at the disk is through the source (stat, realpath).
const dir = mkdtempSync(join(tmpdir(), 'downloadview-decide-'));
const media = join(dir, 'media');
mkdirSync(media);
writeFileSync(join(media, 'a.txt'), 'hello\n');
writeFileSync(join(dir, 'secret.txt'), 'secret\n');
symlinkSync(join(dir, 'secret.txt'), join(media, 'out.txt'));

const disk = (name: string, url?: string) => new DiskSource(join(media, name), url);
const object = () => {
  const source = new ObjectFileSource('/files/o.bin', { size: 10, etag: '"e"' });
  source.attach({
    signedUrl: 'http://127.0.0.1:9/bucket/o.bin?X-Amz-Signature=abc',
    stat: () => Promise.reject(new Error('not used')),
    read: () => Promise.reject(new Error('not used')),
  });
  return source;
};
const get = (headers: Record<string, string> = {}, remoteAddress = '127.0.0.1'): IncomingRequest => ({
  method: 'GET',
  url: '/x',
  headers,
  socket: { remoteAddress },
});

function decision(
  source: DownloadSource | undefined,
  options: DownloadModuleOptions,
  request = get(),
  route?: XSendfileOptions | true,
): Decision {
  const compiled = compileOptions(options);
  return decide(source, buildRoutePlan(route, compiled, 'test route'), request, compiled);
}

const lighttpd: DownloadModuleOptions = {
  backend: 'lighttpd',
  rules: [{ sourceDir: media, destinationDir: '/srv/media' }],
};
const headerOf = (result: Decision) => (result.delegate ? result.delegation.headers : result.reason);

describe('decide()', () => {
  it.each<[string, () => DownloadSource | undefined, DownloadModuleOptions, string | Record<string, string>]>([
    ['a file below sourceDir → X-Sendfile', () => disk('a.txt'), lighttpd, { 'X-Sendfile': '/srv/media/a.txt' }],
    ['no source (not a file on disk)', () => undefined, lighttpd, NOT_A_FILE],
    ['a file in memory', () => DownloadFile.fromBuffer('x', { name: 'x' }).source, lighttpd, VIRTUAL],
    ['a file no rule matches', () => new DiskSource(join(dir, 'secret.txt')), lighttpd, NO_RULE],
    ['a symlink out of sourceDir', () => disk('out.txt'), lighttpd, SYMLINK_OUT],
    [
      'a symlink out, allowed',
      () => disk('out.txt'),
      { ...lighttpd, allowSymlinksOutside: true },
      { 'X-Sendfile': '/srv/media/out.txt' },
    ],
    ['mode off', () => disk('a.txt'), { ...lighttpd, mode: 'off' }, 'mode off (rules[0])'],
    [
      'an object to nginx: its signed path',
      object,
      { backend: 'nginx', rules: [{ sourceUrl: '/files/', destinationDir: '/s3-internal/' }] },
      { 'X-Accel-Redirect': '/s3-internal/bucket/o.bin?X-Amz-Signature=abc' },
    ],
    [
      'an object to lighttpd (needs a path)',
      object,
      { backend: 'lighttpd', rules: [{ sourceUrl: '/files/', destinationDir: '/srv' }] },
      'an object in a bucket has no path on disk for backend lighttpd (use nginx or redirect)',
    ],
  ])('%s', (_case, source, options, expected) => {
    expect(headerOf(decision(source(), options))).toEqual(expected);
  });

  it('auto mode: delegates only when a trusted proxy announces the header', () => {
    const auto = { ...lighttpd, mode: 'auto' as const };
    expect(headerOf(decision(disk('a.txt'), auto))).toMatch(/no X-Sendfile-Type header/);
    expect(decision(disk('a.txt'), auto, get({ 'x-sendfile-type': 'X-Sendfile' })).delegate).toBe(true);
    expect(headerOf(decision(disk('a.txt'), auto, get({ 'x-sendfile-type': 'X-Sendfile' }, '10.1.2.3')))).toMatch(
      /came from 10\.1\.2\.3, which is not in trustedProxies/,
    );
    expect(headerOf(decision(disk('a.txt'), auto, get({ 'x-sendfile-type': 'X-Accel-Redirect' })))).toMatch(
      /backend lighttpd sends X-Sendfile/,
    );
  });

  it('a route: @XSendfile(false) converts nothing; a route rule comes first', () => {
    expect(headerOf(decision(disk('a.txt'), lighttpd, get(), false))).toBe(NOT_CONVERTED);
    const routeRule = { sourceDir: media, destinationDir: '/route' };
    expect(headerOf(decision(disk('a.txt'), lighttpd, get(), routeRule))).toEqual({ 'X-Sendfile': '/route/a.txt' });
    expect(headerOf(decision(disk('a.txt'), { ...lighttpd, scope: 'decorated' }))).toBe(NOT_CONVERTED);
  });

  it('X-Sendfile2: a range becomes a 206 the proxy serves; with an If-Range, the whole file', () => {
    const options = { backend: 'lighttpd2', rules: [{ sourceDir: media, destinationDir: '/srv' }] };
    const ranged = decision(disk('a.txt'), options, get({ range: 'bytes=1-2' }));
    expect(ranged.delegate && ranged.delegation).toEqual({
      status: 206,
      headers: { 'X-Sendfile2': '/srv/a.txt 1-2', 'Content-Range': 'bytes 1-2/6' },
    });
    const conditional = decision(disk('a.txt'), options, get({ range: 'bytes=1-2', 'if-range': '"x"' }));
    expect(headerOf(conditional)).toEqual({ 'X-Sendfile2': '/srv/a.txt 0-5' });
  });

  it('a missing file matched by path is a 404, asked of the source only then', () => {
    expect(() => decision(disk('gone.txt'), lighttpd)).toThrow(expect.objectContaining({ status: 404 }));
    // No rule needs it: the source is never stat'ed, and Node answers (its own 404 when it opens it).
    const unmatched = new DiskSource(join(dir, 'gone.txt'));
    expect(headerOf(decision(unmatched, lighttpd))).toBe(NO_RULE);
    expect(unmatched.knownStats).toBeUndefined();
  });

  it('the decision log gets the full reason, the hot path a short one', () => {
    const source = new DiskSource(join(dir, 'secret.txt'));
    const verbose = decision(source, { ...lighttpd, debug: true });
    expect(headerOf(verbose)).toBe(
      `no rule matched its path ${JSON.stringify(join(dir, 'secret.txt'))}; tried rules[0] (sourceDir ${JSON.stringify(media + '/')})`,
    );
  });
});

describe('sourceOf()', () => {
  it('a plain StreamableFile over a whole file is that file on disk; a slice or a buffer is not', () => {
    const whole = new StreamableFile(createReadStream(join(media, 'a.txt')));
    expect(sourceOf(whole)).toMatchObject({ kind: 'disk', path: join(media, 'a.txt') });
    const slice = new StreamableFile(createReadStream(join(media, 'a.txt'), { start: 1 }));
    expect(sourceOf(slice)).toBeUndefined();
    expect(sourceOf(new StreamableFile(Buffer.from('x')))).toBeUndefined();
    expect(sourceOf(new StreamableFile(Readable.from(['x'])))).toBeUndefined();
    [whole, slice].forEach((file) => file.getStream().destroy());
  });

  it('a DownloadFile says what it is', () => {
    expect(DownloadFile.fromPath(join(media, 'a.txt')).source.kind).toBe('disk');
    expect(DownloadFile.fromBuffer('x', { name: 'x' }).source.kind).toBe('memory');
    expect(DownloadFile.fromUrl('https://example.com/a.bin').source.kind).toBe('remote');
  });
});
