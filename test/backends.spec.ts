import {
  apacheBackend,
  BUILT_IN_BACKENDS,
  caddyBackend,
  lighttpdBackend,
  lighttpdLegacyBackend,
  nginxBackend,
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
    ]);
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
