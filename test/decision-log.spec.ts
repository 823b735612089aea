import 'reflect-metadata';
import { Controller, Get, Logger, Param, StreamableFile } from '@nestjs/common';
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  DownloadConfigError,
  DownloadFile,
  DownloadModule,
  FileSystemStorage,
  XSendfile,
  type DownloadModuleOptions,
} from 'nestjs-downloadview';
import { createTestApp } from './support/platform.js';

// The decision log (`debug: true`): one debug line per file response saying why it was or was not
// delegated, for every reason the interceptor has.
const dir = mkdtempSync(join(tmpdir(), 'downloadview-why-'));
const media = join(dir, 'media');
const outside = join(dir, 'outside');
mkdirSync(media);
mkdirSync(outside);
writeFileSync(join(media, 'a.txt'), 'A\n');
writeFileSync(join(media, 'what?.txt'), 'Q\n');
writeFileSync(join(outside, 'secret.txt'), 'S\n');
symlinkSync(join(outside, 'secret.txt'), join(media, 'link.txt'));
const storage = new FileSystemStorage({ location: media, baseUrl: '/media/', allowSymlinksOutside: true });

@Controller()
class WhyController {
  @Get('file/:name')
  file(@Param('name') name: string) {
    return storage.download(name);
  }

  @Get('by-path')
  byPath() {
    return DownloadFile.fromPath(join(media, 'link.txt'));
  }

  @Get('virtual')
  virtual() {
    return DownloadFile.fromBuffer('secret contents', { name: 'evil\nname.txt' });
  }

  @Get('buffer')
  buffer() {
    return new StreamableFile(Buffer.from('in memory'));
  }

  @Get('off')
  @XSendfile(false)
  off() {
    return storage.download('a.txt');
  }

  @Get('json')
  json() {
    return { ok: true };
  }
}

const debugLines: string[] = [];
beforeEach(() => {
  debugLines.length = 0;
  jest.spyOn(Logger.prototype, 'debug').mockImplementation((message: unknown) => void debugLines.push(String(message)));
});
afterEach(() => jest.restoreAllMocks());

async function appWith(options: DownloadModuleOptions) {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot(options)],
    controllers: [WhyController],
  }).compile();
  return createTestApp(moduleRef);
}

const mediaRule = { sourceUrl: '/media/', destinationDir: '/srv/media' };

async function logOf(
  options: DownloadModuleOptions,
  path: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const app = await appWith({ debug: true, ...options });
  try {
    const req = request(app.getHttpServer()).get(path);
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    await req;
  } finally {
    await app.close();
  }
  expect(debugLines).toHaveLength(1);
  return debugLines[0];
}

describe('decision log (debug: true)', () => {
  it('says which backend, rule and header delegated a file', async () => {
    expect(await logOf({ rules: [mediaRule] }, '/file/a.txt')).toBe(
      'GET /file/a.txt: "a.txt" delegated to lighttpd by rules[0]: X-Sendfile: /srv/media/a.txt',
    );
  });

  it('lists the rules tried when none matched', async () => {
    const line = await logOf(
      {
        rules: [
          { sourceUrl: '/static/', destinationDir: '/srv' },
          { sourceDir: outside, destinationDir: '/srv/o' },
        ],
      },
      '/file/a.txt',
    );
    expect(line).toBe(
      `GET /file/a.txt: "a.txt" served by Node: no rule matched its URL "/media/a.txt" or path ${JSON.stringify(join(media, 'a.txt'))}; ` +
        `tried rules[0] (sourceUrl "/static/"); rules[1] (sourceDir ${JSON.stringify(outside + '/')})`,
    );
  });

  it('says when no rules are configured at all', async () => {
    expect(await logOf({}, '/file/a.txt')).toMatch(/served by Node: no rule matched .* \(no rules are configured\)$/);
  });

  it('names mode off, from the options and from DOWNLOADVIEW_MODE', async () => {
    expect(await logOf({ rules: [{ ...mediaRule, mode: 'off' }] }, '/file/a.txt')).toMatch(
      /served by Node: mode off \(rules\[0\]\)$/,
    );
    process.env.DOWNLOADVIEW_MODE = 'off';
    try {
      debugLines.length = 0;
      expect(await logOf({ rules: [mediaRule] }, '/file/a.txt')).toMatch(
        /served by Node: mode off \(DOWNLOADVIEW_MODE\)$/,
      );
    } finally {
      delete process.env.DOWNLOADVIEW_MODE;
    }
  });

  it('names what auto mode missed: no X-Sendfile-Type, another header, an untrusted address', async () => {
    expect(await logOf({ mode: 'auto', rules: [mediaRule] }, '/file/a.txt')).toMatch(
      /served by Node: mode auto: the request has no X-Sendfile-Type header \(no proxy announced X-Sendfile\)$/,
    );
    debugLines.length = 0;
    expect(
      await logOf({ mode: 'auto', rules: [mediaRule] }, '/file/a.txt', { 'X-Sendfile-Type': 'X-Accel-Redirect' }),
    ).toMatch(/served by Node: mode auto: X-Sendfile-Type is "X-Accel-Redirect", backend lighttpd sends X-Sendfile$/);
    debugLines.length = 0;
    expect(
      await logOf({ mode: 'auto', trustedProxies: ['10.1.2.3'], rules: [mediaRule] }, '/file/a.txt', {
        'X-Sendfile-Type': 'X-Sendfile',
      }),
    ).toMatch(
      /served by Node: mode auto: X-Sendfile-Type came from (127\.0\.0\.1|::1), which is not in trustedProxies$/,
    );
  });

  it('says when the backend cannot carry the name (caddy and "?")', async () => {
    expect(await logOf({ backend: 'caddy', rules: [mediaRule] }, '/file/what%3F.txt')).toBe(
      'GET /file/what%3F.txt: "what?.txt" served by Node: backend caddy cannot carry this name or request (rules[0])',
    );
  });

  it('says when a symlink leads out of sourceDir', async () => {
    expect(await logOf({ rules: [{ sourceDir: media, destinationDir: '/srv/media' }] }, '/by-path')).toMatch(
      /"link\.txt" served by Node: its real path leaves the rule's sourceDir \(a symlink; see allowSymlinksOutside\)$/,
    );
  });

  it('says a virtual file is never delegated, quoting its name and never logging its contents', async () => {
    const line = await logOf({ rules: [mediaRule] }, '/virtual');
    expect(line).toBe('GET /virtual: "evil\\nname.txt" served by Node: a virtual file (in memory) is never delegated');
    expect(line).not.toContain('\n');
    expect(line).not.toContain('secret contents');
  });

  it('says when a route is not converted, or the StreamableFile reads no file', async () => {
    expect(await logOf({ rules: [mediaRule] }, '/off')).toMatch(/served by Node: conversion is off for this route/);
    debugLines.length = 0;
    expect(await logOf({ rules: [mediaRule] }, '/buffer')).toMatch(
      /GET \/buffer: a stream served by Node: not a file on disk/,
    );
  });

  it('logs nothing for routes that return no file, nor when debug is off', async () => {
    await logOf({ rules: [mediaRule] }, '/file/a.txt'); // one line, checked by logOf
    debugLines.length = 0;
    let app = await appWith({ debug: true, rules: [mediaRule] });
    await request(app.getHttpServer()).get('/json').expect(200);
    await app.close();
    app = await appWith({ rules: [mediaRule] });
    await request(app.getHttpServer()).get('/file/a.txt').expect(200);
    await app.close();
    expect(debugLines).toEqual([]);
  });

  it('is turned on by DOWNLOADVIEW_DEBUG=1, and debug must be a boolean', async () => {
    process.env.DOWNLOADVIEW_DEBUG = '1';
    try {
      const app = await appWith({ rules: [mediaRule] });
      await request(app.getHttpServer()).get('/file/a.txt').expect(200);
      await app.close();
    } finally {
      delete process.env.DOWNLOADVIEW_DEBUG;
    }
    expect(debugLines).toEqual([
      'GET /file/a.txt: "a.txt" delegated to lighttpd by rules[0]: X-Sendfile: /srv/media/a.txt',
    ]);
    await expect(appWith({ debug: 'yes' as unknown as boolean })).rejects.toThrow(DownloadConfigError);
    await expect(appWith({ debug: 'yes' as unknown as boolean })).rejects.toThrow(/debug/);
  });
});
