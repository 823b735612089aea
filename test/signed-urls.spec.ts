import 'reflect-metadata';
import { Controller, Get, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DownloadModule, SignatureRequired, SignedFileSystemStorage, UrlSigner } from 'nestjs-downloadview';
import { assertXSendfile } from 'nestjs-downloadview/testing';
import { createTestApp } from './support/platform.js';

const location = mkdtempSync(join(tmpdir(), 'downloadview-signed-'));
writeFileSync(join(location, 'report 1.pdf'), '%PDF');
writeFileSync(join(location, 'other.pdf'), '%PDF');
const secrets = ['new-secret-0123456789', 'old-secret-0123456789'];
const storage = new SignedFileSystemStorage({ location, baseUrl: '/media/signed/', secret: secrets, expiresIn: 60 });

@Controller('media/signed')
class SignedController {
  @Get(':name')
  @SignatureRequired(storage)
  download(@Param('name') name: string) {
    return storage.download(name);
  }
}

describe('signed URLs (SignedFileSystemStorage + @SignatureRequired)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DownloadModule.forRoot({ rules: [{ sourceUrl: '/media/signed/', destinationDir: '/srv/signed/' }] })],
      controllers: [SignedController],
    }).compile();
    app = await createTestApp(moduleRef);
    http = request(app.getHttpServer());
  });
  afterAll(() => app.close());

  it('url() carries an X-Signature, and the signed URL is delegated as usual', async () => {
    const url = storage.url('report 1.pdf');
    expect(url).toMatch(/^\/media\/signed\/report%201\.pdf\?X-Signature=\d+\.[A-Za-z0-9_-]{43}$/);
    assertXSendfile(await http.get(url), { filePath: '/srv/signed/report 1.pdf', basename: 'report 1.pdf' });
  });

  it('a missing, malformed, wrong or doubled signature is a 403', async () => {
    const signed = storage.url('report 1.pdf');
    const signature = signed.split('X-Signature=')[1];
    const [expires, mac] = decodeURIComponent(signature).split('.');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const flipped = mac.slice(0, 10) + (mac[10] === 'A' ? 'B' : 'A') + mac.slice(11);
    // The same 32 bytes spelt differently: the last character's two unused bits set otherwise.
    const respelt = mac.slice(0, -1) + alphabet[alphabet.indexOf(mac.at(-1)!) ^ 1];
    expect(Buffer.from(respelt, 'base64url')).toEqual(Buffer.from(mac, 'base64url'));
    for (const url of [
      '/media/signed/report%201.pdf',
      '/media/signed/report%201.pdf?X-Signature=nonsense',
      `/media/signed/report%201.pdf?X-Signature=${expires}.${flipped}`,
      `/media/signed/report%201.pdf?X-Signature=${expires}.${respelt}`,
      `/media/signed/report%201.pdf?X-Signature=${Number(expires) + 1000}.${mac}`,
      `/media/signed/other.pdf?X-Signature=${signature}`,
      `${signed}&X-Signature=${signature}`,
    ]) {
      const res = await http.get(url);
      expect([url, res.status]).toEqual([url, 403]);
      expect(res.headers['x-sendfile']).toBeUndefined();
    }
  });

  it('an expired signature is a 403', async () => {
    const signer = new UrlSigner({ secret: secrets, expiresIn: 60 });
    const url = signer.sign('/media/signed/report%201.pdf', Date.now() - 61_000);
    const res = await http.get(url);
    expect(res.status).toBe(403);
    expect(res.body.message).toBe('Signature expired');
  });

  it('secret rotation: URLs signed with a listed older secret still pass, others do not', async () => {
    const old = new UrlSigner({ secret: 'old-secret-0123456789' });
    expect((await http.get(old.sign('/media/signed/report%201.pdf'))).status).toBe(200);
    const foreign = new UrlSigner({ secret: 'someone-elses-secret-000' });
    expect((await http.get(foreign.sign('/media/signed/report%201.pdf'))).status).toBe(403);
  });

  it('refuses weak configuration', () => {
    expect(() => new UrlSigner({ secret: 'short' })).toThrow(/at least 16 characters/);
    expect(() => new UrlSigner({ secret: [] })).toThrow(/non-empty list/);
    expect(() => new UrlSigner({ secret: 'long-enough-secret-xx', expiresIn: -1 })).toThrow(
      /positive number of seconds/,
    );
  });
});
