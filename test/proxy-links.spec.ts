import { parse } from 'content-disposition';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemStorage, NginxSecureLinkSigner, ProxyLinkSigner, type ProxyLinkKey } from 'nestjs-downloadview';

const CURRENT: ProxyLinkKey = { id: 'k2', secret: 'current-secret-0123456789abcdefghijklmnop' };
const PREVIOUS: ProxyLinkKey = { id: 'k1', secret: 'previous-secret-0123456789abcdefghijklmno' };
const NOW = Date.UTC(2026, 11, 2, 8, 0, 0);

let root: string;
let outside: string;
let storage: FileSystemStorage;
let signer: ProxyLinkSigner;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'proxy-links-'));
  outside = mkdtempSync(join(tmpdir(), 'proxy-links-outside-'));
  mkdirSync(join(root, 'sub'));
  for (const name of ['a.txt', 'sub/b c.txt', 'été #1 ?.txt', '100%.txt']) writeFileSync(join(root, name), name);
  writeFileSync(join(outside, 'secret.txt'), 'outside');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-out.txt'));
  storage = new FileSystemStorage({ location: root });
  signer = new ProxyLinkSigner({ storage, baseUrl: '/links/', keys: [CURRENT, PREVIOUS], expiresIn: 300 });
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const query = (link: string) => new URLSearchParams(link.slice(link.indexOf('?') + 1));

describe('ProxyLinkSigner.url()', () => {
  it('writes exp, kid, cd and sig, the HMAC-SHA256 of kid, exp, decoded path and cd (what the proxies compute)', () => {
    const link = signer.url('sub/b c.txt', { now: NOW });
    const expires = NOW / 1000 + 300;
    const cd = Buffer.from('attachment; filename="b c.txt"').toString('base64url');
    const sig = createHmac('sha256', CURRENT.secret)
      .update(`k2\n${expires}\n/links/sub/b c.txt\n${cd}`)
      .digest('base64url');
    expect(link).toBe(`/links/sub/b%20c.txt?exp=${expires}&kid=k2&cd=${cd}&sig=${sig}`);
  });

  it('percent-encodes %, #, ? and non-ASCII in the path, and normalises the name as the storage does', () => {
    const link = signer.url('été #1 ?.txt', { now: NOW });
    expect(link.split('?')[0]).toBe('/links/%C3%A9t%C3%A9%20%231%20%3F.txt');
    expect(signer.check(link, NOW)).toMatchObject({ status: 200, path: '/links/été #1 ?.txt' });
    expect(signer.url('./sub/./b c.txt', { now: NOW })).toBe(signer.url('sub/b c.txt', { now: NOW }));
    expect(signer.url('100%.txt').split('?')[0]).toBe('/links/100%25.txt');
  });

  it('carries the download name and disposition in the signed cd parameter', () => {
    const link = signer.url('a.txt', { filename: "Rapport d'été.txt", disposition: 'inline', now: NOW });
    const cd = Buffer.from(query(link).get('cd')!, 'base64url').toString();
    expect(parse(cd)).toMatchObject({ type: 'inline', parameters: { filename: "Rapport d'été.txt" } });
    const result = signer.check(link, NOW);
    expect(result).toEqual({
      status: 200,
      contentDisposition: cd,
      cacheControl: 'private, max-age=300',
      path: '/links/a.txt',
    });
  });

  it('checks the name as the storage does: 400 outside the folder, 404 when missing or behind a symlink out', () => {
    for (const name of ['../x', '/etc/passwd', 'a\\b', 'a\nb', '']) {
      expect(() => signer.url(name)).toThrow(expect.objectContaining({ status: 400 }));
    }
    for (const name of ['missing.txt', 'link-out.txt', 'sub', '.']) {
      expect(() => signer.url(name)).toThrow(expect.objectContaining({ status: 404 }));
    }
  });

  it('refuses a download name with a control character, and a bad expiresIn', () => {
    expect(() => signer.url('a.txt', { filename: 'a\r\nSet-Cookie: x' })).toThrow(TypeError);
    for (const expiresIn of [0, -1, 1.5, Number.NaN])
      expect(() => signer.url('a.txt', { expiresIn })).toThrow(TypeError);
  });

  it('refuses bad options, and never puts a secret in its message', () => {
    const bad = [
      { keys: [] },
      { keys: [{ id: 'has space', secret: CURRENT.secret }] },
      { keys: [{ id: 'k', secret: 'short' }] },
      { keys: [{ id: 'k', secret: 'with "quotes" and $vars 0123456789abcdefghijklmnop' }] },
      { keys: [CURRENT, { ...PREVIOUS, id: CURRENT.id }] },
      { keys: [CURRENT], baseUrl: 'links/' },
      { keys: [CURRENT], baseUrl: '/lïnks/' },
    ];
    for (const options of bad) {
      let message = '';
      try {
        new ProxyLinkSigner({ storage, baseUrl: '/links/', ...options });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^ProxyLinkSigner: /);
      expect(message).not.toContain('with "quotes"');
      expect(message).not.toContain(CURRENT.secret);
    }
  });
});

describe('ProxyLinkSigner.check() (the verification route, and what the proxies do)', () => {
  const link = () => signer.url('a.txt', { now: NOW });

  it('200 with a max-age that ends with the link', () => {
    expect(signer.check(link(), NOW + 100_000)).toMatchObject({ status: 200, cacheControl: 'private, max-age=200' });
    expect(signer.check(link(), NOW + 300_000)).toMatchObject({ status: 200, cacheControl: 'private, max-age=0' });
  });

  it('410 once expired, 403 for anything edited, and neither is cacheable', () => {
    const good = link();
    const sig = query(good).get('sig')!;
    const exp = query(good).get('exp')!;
    expect(signer.check(good, NOW + 301_000)).toEqual({ status: 410, cacheControl: 'private, no-store' });
    const refused = [
      good.replace(`exp=${exp}`, `exp=${Number(exp) + 1}`),
      good.replace('/a.txt', '/sub/b%20c.txt'),
      good.replace(/cd=[\w-]+/, 'cd='),
      good.replace('kid=k2', 'kid=k1'),
      good.replace('kid=k2', 'kid=k9'),
      good.replace(sig, sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A')),
      `${good}&sig=${sig}`,
      good.replace(`&sig=${sig}`, ''),
      good.split('?')[0],
      `${good}#x`,
      '/links/%E0%A4%A.txt?exp=1&kid=k2&cd=&sig=' + 'A'.repeat(43),
      '/elsewhere/a.txt' + good.slice(good.indexOf('?')),
    ];
    for (const uri of refused)
      expect([uri, signer.check(uri, NOW)]).toEqual([uri, { status: 403, cacheControl: 'private, no-store' }]);
  });

  it('only the canonical spelling of the signature passes', () => {
    const good = link();
    const sig = query(good).get('sig')!;
    // The last of 43 base64url characters carries 2 unused bits: 3 other spellings decode to the same MAC.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1)!);
    const twin = sig.slice(0, -1) + alphabet[last ^ 1];
    expect(Buffer.from(twin, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    expect(signer.check(good.replace(sig, twin), NOW).status).toBe(403);
  });

  it('accepts links signed with the previous key during a rollover, and no longer once it is removed', () => {
    const before = new ProxyLinkSigner({ storage, baseUrl: '/links/', keys: [PREVIOUS] }).url('a.txt', { now: NOW });
    expect(query(before).get('kid')).toBe('k1');
    expect(signer.check(before, NOW).status).toBe(200);
    const after = new ProxyLinkSigner({ storage, baseUrl: '/links/', keys: [CURRENT] });
    expect(after.check(before, NOW).status).toBe(403);
  });

  it('refuses a signed Content-Disposition that is not printable ASCII', () => {
    const cd = Buffer.from('attachment; filename=a\r\nX: y').toString('base64url');
    const expires = NOW / 1000 + 60;
    const sig = createHmac('sha256', CURRENT.secret).update(`k2\n${expires}\n/links/a.txt\n${cd}`).digest('base64url');
    expect(signer.check(`/links/a.txt?exp=${expires}&kid=k2&cd=${cd}&sig=${sig}`, NOW).status).toBe(403);
  });
});

describe('NginxSecureLinkSigner (nginx secure_link, MD5)', () => {
  const SECRET = 'md5-secret-0123456789abcdefghijklmnopqrstu';

  it('writes expires, dn and md5 = base64url(MD5("<expires>|<dn>|<decoded path> <secret>"))', () => {
    const md5 = new NginxSecureLinkSigner({ storage, baseUrl: '/md5-links/', secret: SECRET, expiresIn: 60 });
    const link = md5.url('été #1 ?.txt', { now: NOW, filename: "it's (1)+&.txt" });
    const expires = NOW / 1000 + 60;
    const dn = 'it%27s%20%281%29%2B%26.txt';
    const token = createHash('md5').update(`${expires}|${dn}|/md5-links/été #1 ?.txt ${SECRET}`).digest('base64url');
    expect(link).toBe(`/md5-links/%C3%A9t%C3%A9%20%231%20%3F.txt?expires=${expires}&dn=${dn}&md5=${token}`);
    // dn is what nginx writes after filename*=UTF-8'': a valid RFC 8187 value.
    expect(parse(`attachment; filename*=UTF-8''${dn}`).parameters.filename).toBe("it's (1)+&.txt");
  });

  it('checks names as the storage does, and refuses a weak secret without showing it', () => {
    const md5 = new NginxSecureLinkSigner({ storage, baseUrl: '/md5-links/', secret: SECRET });
    expect(() => md5.url('../x')).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => md5.url('link-out.txt')).toThrow(expect.objectContaining({ status: 404 }));
    expect(() => new NginxSecureLinkSigner({ storage, baseUrl: '/m/', secret: 'short secret' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('short secret') }),
    );
  });
});
