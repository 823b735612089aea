import 'reflect-metadata';
import { S3Client } from '@aws-sdk/client-s3';
import { Controller, Get, Logger, Param } from '@nestjs/common';
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  DownloadModule,
  FileSystemStorage,
  SIGNATURE_PARAMETER,
  SignedFileSystemStorage,
  type DownloadRule,
} from 'nestjs-downloadview';
import { S3Storage } from 'nestjs-downloadview/s3';
import { createTestApp } from './support/platform.js';

// The decision log (`debug: true`) goes where application logs go, often to third parties: it
// must never hold a signature, credential or token — not the request's query, not a signed URL
// handed to nginx or to the client — while still naming the path and the query's parameters.
const media = mkdtempSync(join(tmpdir(), 'downloadview-secrets-'));
writeFileSync(join(media, 'a.txt'), 'A\n');
const TOKEN = 'tok3n-that-must-not-be-logged';
const ACCESS_KEY = 'AKIAEXAMPLELOGGED';
const SECRET_KEY = 'secret-key-that-must-not-be-logged';

const disk = new FileSystemStorage({ location: media, baseUrl: '/media/' });
const signed = new SignedFileSystemStorage({
  location: media,
  baseUrl: '/media/',
  secret: 'a-signing-secret-of-32-characters',
});
// Signing needs no server; checkExists: false asks the bucket nothing before the decision.
const bucket = new S3Storage({
  client: new S3Client({
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  }),
  bucket: 'private-media',
  baseUrl: '/files/',
  checkExists: false,
});

@Controller()
class FilesController {
  @Get('disk/:name')
  disk(@Param('name') name: string) {
    return disk.download(name);
  }

  @Get('signed/:name')
  signed(@Param('name') name: string) {
    return signed.download(name);
  }

  @Get('bucket/:name')
  bucket(@Param('name') name: string) {
    return bucket.download(name);
  }
}

const lines: string[] = [];
beforeEach(() => {
  lines.length = 0;
  jest.spyOn(Logger.prototype, 'debug').mockImplementation((message: unknown) => void lines.push(String(message)));
});
afterEach(() => jest.restoreAllMocks());

async function logOf(backend: string, rules: DownloadRule[], path: string): Promise<string> {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot({ debug: true, backend, rules })],
    controllers: [FilesController],
  }).compile();
  const app = await createTestApp(moduleRef);
  try {
    await request(app.getHttpServer()).get(path);
  } finally {
    await app.close();
  }
  expect(lines).toHaveLength(1);
  return lines[0];
}

/** No value of a secret, in any spelling a URL gives it. */
function expectNoSecrets(line: string, secrets: string[]): void {
  for (const secret of secrets) {
    expect(line).not.toContain(secret);
    expect(line).not.toContain(encodeURIComponent(secret));
  }
  expect(line).not.toMatch(/X-Amz-(Signature|Credential|Security-Token)=/i);
  expect(line).not.toMatch(new RegExp(`${SIGNATURE_PARAMETER}=`, 'i'));
}

const DISK_BACKENDS: [string, string][] = [
  ['lighttpd', '/srv/media'],
  ['lighttpd2', '/srv/media'],
  ['lighttpd-legacy', '/srv/media'],
  ['apache', '/srv/media'],
  ['nginx', '/protected/media'],
  ['caddy', '/protected/media'],
  ['redirect', 'https://cdn.example.com/media'],
];

describe('the decision log holds no secret', () => {
  it.each(DISK_BACKENDS)('a token in the request query, delegated to %s', async (backend, destinationDir) => {
    const line = await logOf(backend, [{ sourceUrl: '/media/', destinationDir }], `/disk/a.txt?token=${TOKEN}&x=1`);
    expect(line).toMatch(new RegExp(`^GET /disk/a\\.txt\\?token&x: "a\\.txt" delegated to ${backend} by rules\\[0\\]`));
    expectNoSecrets(line, [TOKEN]);
  });

  it.each(DISK_BACKENDS)("SignedFileSystemStorage's signature, delegated to %s", async (backend, destinationDir) => {
    const url = signed.url('a.txt');
    const signature = new URL(url, 'http://x').searchParams.get(SIGNATURE_PARAMETER)!;
    expect(signature.length).toBeGreaterThan(10);
    const line = await logOf(backend, [{ sourceUrl: '/media/', destinationDir }], `/signed/a.txt?${url.split('?')[1]}`);
    expect(line).toContain(`GET /signed/a.txt?${SIGNATURE_PARAMETER}: "a.txt" delegated to ${backend}`);
    expectNoSecrets(line, [signature, TOKEN]);
  });

  it('a token in the request query, served by Node (no rule matched)', async () => {
    const line = await logOf(
      'lighttpd',
      [{ sourceUrl: '/static/', destinationDir: '/srv' }],
      `/disk/a.txt?token=${TOKEN}`,
    );
    expect(line).toMatch(/^GET \/disk\/a\.txt\?token: "a\.txt" served by Node: no rule matched/);
    expectNoSecrets(line, [TOKEN]);
  });

  it('S3Storage behind nginx: the X-Accel-Redirect path and the names of its signed query only', async () => {
    const line = await logOf('nginx', [{ sourceUrl: '/files/', destinationDir: '/s3-internal/' }], '/bucket/hello.txt');
    expect(line).toMatch(
      /^GET \/bucket\/hello\.txt: "hello\.txt" delegated to nginx by rules\[0\]: X-Accel-Redirect: \/s3-internal\/private-media\/hello\.txt\?X-Amz-Algorithm&.*X-Amz-Credential&/,
    );
    expect(line).toContain('X-Amz-Signature');
    expectNoSecrets(line, [ACCESS_KEY, SECRET_KEY]);
  });

  it("S3Storage with redirect: the Location's origin, path and query names only", async () => {
    const line = await logOf('redirect', [{ sourceUrl: '/files/' }], '/bucket/hello.txt');
    expect(line).toMatch(
      /delegated to redirect by rules\[0\]: 302, Location: http:\/\/127\.0\.0\.1:9\/private-media\/hello\.txt\?.*X-Amz-Signature/,
    );
    expectNoSecrets(line, [ACCESS_KEY, SECRET_KEY]);
  });
});
