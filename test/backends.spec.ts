import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import {
  apacheBackend,
  BUILT_IN_BACKENDS,
  caddyBackend,
  DownloadModule,
  lighttpdBackend,
  lighttpdLegacyBackend,
  nginxBackend,
  redirectBackend,
  type DownloadRule,
} from 'nestjs-downloadview';
import { assertDelegatedDownload, downloadMatchers } from 'nestjs-downloadview/testing';

expect.extend(downloadMatchers);
const odd = '/srv/files/rapport été 100%41 #1 ?x=y.pdf';

describe('backends', () => {
  it('are selectable by name', () => {
    expect([...BUILT_IN_BACKENDS.keys()].sort()).toEqual([
      'apache',
      'caddy',
      'lighttpd',
      'lighttpd-legacy',
      'lighttpd2',
      'nginx',
      'redirect',
    ]);
  });

  it("redirect: 302 to an object's signed URL, or to a CDN URL + the encoded path; never cached", () => {
    const signedUrl = 'https://bucket.example/key.bin?X-Amz-Signature=abc';
    expect(redirectBackend.delegate({ destination: '', signedUrl, options: {} })).toEqual({
      status: 302,
      headers: { Location: signedUrl, 'Cache-Control': 'private, no-store' },
    });
    const cdn = redirectBackend.delegate({
      destination: 'https://cdn.example/media/a b#1.txt',
      destinationDir: 'https://cdn.example/media/',
      options: {},
    });
    expect(cdn!.headers.Location).toBe('https://cdn.example/media/a%20b%231.txt');
    // Nothing to send the client to: Node serves the file.
    expect(redirectBackend.delegate({ destination: 'a.txt', destinationDir: '', options: {} })).toBeUndefined();
  });

  it('nginx: an object goes to destinationDir + its signed path and query, as signed', () => {
    const signedUrl =
      'http://127.0.0.1:9000/bucket/a%20b.bin?X-Amz-Signature=abc&response-content-disposition=attachment';
    const { headers } = nginxBackend.delegate({
      destination: 'ignored',
      destinationDir: '/s3-internal/',
      signedUrl,
      options: {},
    })!;
    expect(headers['X-Accel-Redirect']).toBe(
      '/s3-internal/bucket/a%20b.bin?X-Amz-Signature=abc&response-content-disposition=attachment',
    );
  });

  it('rules check destinationDir by the kind of backend, at startup', async () => {
    const start = (rule: DownloadRule) =>
      Test.createTestingModule({ imports: [DownloadModule.forRoot({ rules: [rule] })] }).compile();
    await expect(start({ sourceUrl: '/s3/', backend: 'redirect' })).resolves.toBeDefined();
    await expect(
      start({ sourceUrl: '/m/', destinationDir: 'https://cdn.example/m', backend: 'redirect' }),
    ).resolves.toBeDefined();
    await expect(start({ sourceUrl: '/m/', destinationDir: 'cdn.example/m', backend: 'redirect' })).rejects.toThrow(
      /rules\[0\]: "destinationDir" must be an http\(s\) URL or an absolute path for backend "redirect"/,
    );
    await expect(
      start({ sourceUrl: '/m/', destinationDir: 'https://cdn.example/m', backend: 'nginx' }),
    ).rejects.toThrow(/absolute URI path/);
    await expect(start({ sourceUrl: '/m/', backend: 'nginx' })).rejects.toThrow(
      /rules\[0\]: "destinationDir" is required/,
    );
  });

  it('lighttpd percent-encodes each segment (lighttpd URL-decodes X-Sendfile)', () => {
    const { headers } = lighttpdBackend.delegate({ destination: odd, options: {} })!;
    expect(headers).toEqual({ 'X-Sendfile': '/srv/files/rapport%20%C3%A9t%C3%A9%20100%2541%20%231%20%3Fx%3Dy.pdf' });
    expect(decodeURIComponent(headers['X-Sendfile'])).toBe(odd);
  });

  it('lighttpd-legacy sends X-LIGHTTPD-send-file', () => {
    expect(lighttpdLegacyBackend.delegate({ destination: '/a b', options: {} })!.headers).toEqual({
      'X-LIGHTTPD-send-file': '/a%20b',
    });
  });

  it('apache sends the raw UTF-8 bytes (mod_xsendfile does not decode)', () => {
    const value = apacheBackend.delegate({ destination: odd, options: {} })!.headers['X-Sendfile'];
    expect(Buffer.from(value, 'latin1').toString('utf8')).toBe(odd);
    expect([...value].every((c) => c.charCodeAt(0) <= 0xff)).toBe(true);
  });

  it('apache and caddy leave a name with CR/LF to Node rather than split the header', () => {
    expect(apacheBackend.delegate({ destination: '/srv/a\r\nSet-Cookie: x', options: {} })).toBeUndefined();
    expect(caddyBackend.delegate({ destination: '/a\nb', options: {} })).toBeUndefined();
  });

  it("caddy sends raw bytes and leaves '?' names to Node", () => {
    expect(caddyBackend.delegate({ destination: '/d/été #1.txt', options: {} })!.headers['X-Accel-Redirect']).toBe(
      Buffer.from('/d/été #1.txt').toString('latin1'),
    );
    expect(caddyBackend.delegate({ destination: '/d/q?.txt', options: {} })).toBeUndefined();
  });

  it('nginx sends a percent-encoded URI and the X-Accel-* options', () => {
    const { headers } = nginxBackend.delegate({
      destination: '/protected/a b#.txt',
      options: { charset: 'utf-8', buffering: false, expires: 3600, limitRate: 1024 },
    })!;
    expect(headers).toEqual({
      'X-Accel-Redirect': '/protected/a%20b%23.txt',
      'X-Accel-Charset': 'utf-8',
      'X-Accel-Buffering': 'no',
      'X-Accel-Expires': '3600',
      'X-Accel-Limit-Rate': '1024',
    });
    expect(
      nginxBackend.delegate({ destination: '/p/x', options: { buffering: 'yes', expires: 'off', limitRate: 'off' } })!
        .headers,
    ).toEqual({
      'X-Accel-Redirect': '/p/x',
      'X-Accel-Buffering': 'yes',
      'X-Accel-Expires': 'off',
      'X-Accel-Limit-Rate': 'off',
    });
  });
});

describe('assertion helpers', () => {
  const response = (headers: Record<string, string>, status = 200) => ({ status, headers });
  const nginxResponse = response({
    'x-accel-redirect': '/protected/a%20b.txt',
    'content-type': 'text/plain; charset=utf-8',
    'content-disposition': 'attachment; filename="a b.txt"',
  });

  it('toBeDelegatedDownload checks backend, basename, content type and path', () => {
    expect(nginxResponse).toBeDelegatedDownload({
      backend: 'nginx',
      basename: 'a b.txt',
      contentType: 'text/plain; charset=utf-8',
      filePath: '/protected/a b.txt',
    });
    expect(nginxResponse).not.toBeDelegatedDownload({ backend: 'lighttpd' });
    expect(() => expect(nginxResponse).toBeDelegatedDownload({ backend: 'nginx', basename: 'other.txt' })).toThrow(
      'basename: expected "other.txt", got "a b.txt"',
    );
  });

  it('lists every difference, and refuses a non-delegated status', () => {
    expect(() =>
      assertDelegatedDownload(response({ 'x-sendfile': '/a' }, 500), { filePath: '/b', contentType: 'x/y' }),
    ).toThrow(
      /status: expected 200, got 500\n {2}contentType: expected "x\/y", got undefined\n {2}filePath: expected "\/b", got "\/a"/,
    );
  });
});

describe('lighttpd2 (X-Sendfile2)', () => {
  const delegate = (range?: string, conditionalRange = false, size = 1000) =>
    BUILT_IN_BACKENDS.get('lighttpd2')!.delegate({
      destination: '/srv/a b,c.bin',
      range,
      conditionalRange,
      size,
      options: {},
    });
  it('names the whole file without a Range', () => {
    expect(delegate()).toEqual({ headers: { 'X-Sendfile2': '/srv/a%20b%2Cc.bin 0-999' } });
  });
  it('names the slice and answers 206 with Content-Range for one range', () => {
    expect(delegate('bytes=10-19')).toEqual({
      status: 206,
      headers: { 'X-Sendfile2': '/srv/a%20b%2Cc.bin 10-19', 'Content-Range': 'bytes 10-19/1000' },
    });
    expect(delegate('bytes=-10')!.headers['Content-Range']).toBe('bytes 990-999/1000');
  });
  it('leaves an unsatisfiable range, an unknown size or an If-Range to Node; several ranges get the whole file', () => {
    expect(delegate('bytes=5000-')).toBeUndefined();
    expect(delegate(undefined, false, 0)).toBeUndefined();
    expect(delegate('bytes=1-2', true)).toEqual({ headers: { 'X-Sendfile2': '/srv/a%20b%2Cc.bin 0-999' } });
    expect(delegate('bytes=0-1,500-600')).toEqual({ headers: { 'X-Sendfile2': '/srv/a%20b%2Cc.bin 0-999' } });
  });
});
