import 'reflect-metadata';
import { Controller, Get, Logger, Module, StreamableFile } from '@nestjs/common';
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { createReadStream, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  DownloadConfigError,
  DownloadFile,
  DownloadInterceptor,
  DownloadModule,
  XSendfile,
  type DownloadBackend,
  type DownloadModuleOptions,
} from 'nestjs-downloadview';
import { assertXSendfile } from 'nestjs-downloadview/testing';
import { createTestApp } from './support/platform.js';

const dir = mkdtempSync(join(tmpdir(), 'downloadview-config-'));
writeFileSync(join(dir, 'a.txt'), 'A\n');
const openDescriptors = () => readdirSync('/proc/self/fd').length;

let lastStream: ReturnType<typeof createReadStream> | undefined;
const returnedFiles: DownloadFile[] = [];

@Controller()
class FilesController {
  @Get('plain')
  plain() {
    lastStream = createReadStream(join(dir, 'a.txt'));
    return new StreamableFile(lastStream);
  }

  @Get('buffer')
  buffer() {
    return new StreamableFile(Buffer.from('in memory'));
  }

  @Get('decorated')
  @XSendfile()
  decorated() {
    const file = DownloadFile.fromPath(join(dir, 'a.txt'));
    returnedFiles.push(file);
    return file;
  }

  @Get('inline')
  inline() {
    return DownloadFile.fromPath(join(dir, 'a.txt'), {
      inline: true,
      name: 'Résumé.txt',
      contentType: 'text/x-custom',
    });
  }

  @Get('json')
  json() {
    return { ok: true };
  }
}

async function appWith(options: DownloadModuleOptions) {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot(options)],
    controllers: [FilesController],
  }).compile();
  return createTestApp(moduleRef);
}

const rule = { sourceDir: dir, destinationDir: '/srv/files' };

describe('DownloadModule configuration', () => {
  it('converts a plain createReadStream StreamableFile and closes its descriptor', async () => {
    const app = await appWith({ rules: [rule] });
    const res = await request(app.getHttpServer()).get('/plain');
    assertXSendfile(res, { filePath: '/srv/files/a.txt', basename: 'a.txt', contentType: 'text/plain; charset=utf-8' });
    expect(lastStream!.destroyed).toBe(true);
    await app.close();
  });

  it('opens no descriptor for a converted DownloadFile', async () => {
    const app = await appWith({ rules: [rule] });
    const server = request(app.getHttpServer());
    await server.get('/decorated'); // warm up
    const before = openDescriptors();
    const results = await Promise.all(Array.from({ length: 50 }, () => server.get('/decorated')));
    results.forEach((res) => assertXSendfile(res, { filePath: '/srv/files/a.txt' }));
    expect(openDescriptors()).toBeLessThanOrEqual(before);
    expect(returnedFiles.length).toBeGreaterThanOrEqual(50);
    expect(returnedFiles.filter((file) => file.opened)).toEqual([]);
    await app.close();
  });

  it('leaves a StreamableFile over a Buffer and non-file routes untouched', async () => {
    const app = await appWith({ rules: [rule] });
    const res = await request(app.getHttpServer()).get('/buffer');
    expect(res.headers['x-sendfile']).toBeUndefined();
    expect(res.body.toString()).toBe('in memory');
    expect((await request(app.getHttpServer()).get('/json')).body).toEqual({ ok: true });
    await app.close();
  });

  it('an @XSendfile() route in an app without DownloadModule fails at startup, saying what to import', async () => {
    await expect(Test.createTestingModule({ controllers: [FilesController] }).compile()).rejects.toThrow(
      /@XSendfile\(\) needs DownloadModule: add DownloadModule\.forRoot\(\{ backend, rules \}\)/,
    );
  });

  it('honours inline, a download name and a content type', async () => {
    const app = await appWith({ rules: [rule] });
    const res = await request(app.getHttpServer()).get('/inline');
    assertXSendfile(res, { basename: 'Résumé.txt', contentType: 'text/x-custom', filePath: '/srv/files/a.txt' });
    expect(res.headers['content-disposition']).toBe(
      `inline; filename=Resume.txt; filename*=UTF-8''R%C3%A9sum%C3%A9.txt`,
    );
    await app.close();
  });

  it("scope 'decorated' converts only @XSendfile routes", async () => {
    const app = await appWith({ rules: [rule], scope: 'decorated' });
    assertXSendfile(await request(app.getHttpServer()).get('/decorated'), { filePath: '/srv/files/a.txt' });
    const plain = await request(app.getHttpServer()).get('/plain');
    expect(plain.headers['x-sendfile']).toBeUndefined();
    expect(plain.body.toString()).toBe('A\n');
    await app.close();
  });

  it("scope 'decorated' (forRoot) installs no global interceptor: only @XSendfile routes run it, once", async () => {
    const intercept = jest.spyOn(DownloadInterceptor.prototype, 'intercept');
    try {
      for (const scope of ['decorated', 'global'] as const) {
        intercept.mockClear();
        const app = await appWith({ rules: [rule], scope });
        const server = request(app.getHttpServer());
        expect((await server.get('/json')).body).toEqual({ ok: true });
        expect(intercept).toHaveBeenCalledTimes(scope === 'decorated' ? 0 : 1);
        intercept.mockClear();
        assertXSendfile(await server.get('/decorated'), { filePath: '/srv/files/a.txt' });
        // Global and route-bound both present in global scope: the work is done once.
        expect(intercept).toHaveBeenCalledTimes(1);
        await app.close();
      }
    } finally {
      intercept.mockRestore();
    }
  });

  it("scope 'decorated' through forRootAsync: the interceptor is global, and converts only @XSendfile routes", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DownloadModule.forRootAsync({ useFactory: () => ({ rules: [rule], scope: 'decorated' as const }) })],
      controllers: [FilesController],
    }).compile();
    const app = await createTestApp(moduleRef);
    assertXSendfile(await request(app.getHttpServer()).get('/decorated'), { filePath: '/srv/files/a.txt' });
    expect((await request(app.getHttpServer()).get('/plain')).headers['x-sendfile']).toBeUndefined();
    await app.close();
  });

  it('the first matching rule wins; sourceUrl is tried before sourceDir in each rule', async () => {
    const app = await appWith({
      rules: [
        { sourceDir: join(dir, 'nothing-here'), destinationDir: '/never' },
        { sourceDir: dir, destinationDir: '/first' },
        { sourceDir: dir, destinationDir: '/second' },
      ],
    });
    assertXSendfile(await request(app.getHttpServer()).get('/plain'), { filePath: '/first/a.txt' });
    await app.close();
  });

  it('forRootAsync takes its options from a factory with injected providers', async () => {
    @Module({ providers: [{ provide: 'DEST', useValue: '/from/factory' }], exports: ['DEST'] })
    class ConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        DownloadModule.forRootAsync({
          imports: [ConfigModule],
          inject: ['DEST'],
          useFactory: (dest: string) => ({ rules: [{ sourceDir: dir, destinationDir: dest }] }),
        }),
      ],
      controllers: [FilesController],
    }).compile();
    const app = await createTestApp(moduleRef);
    assertXSendfile(await request(app.getHttpServer()).get('/plain'), { filePath: '/from/factory/a.txt' });
    await app.close();
  });

  it('takes a custom backend object through the exported interface', async () => {
    const custom: DownloadBackend = {
      name: 'my-proxy',
      header: 'X-My-Sendfile',
      destinationKind: 'path',
      delegate: ({ destination }) => ({ headers: { 'X-My-Sendfile': encodeURI(destination) } }),
    };
    const app = await appWith({ backend: custom, rules: [rule] });
    const res = await request(app.getHttpServer()).get('/plain');
    expect(res.headers['x-my-sendfile']).toBe('/srv/files/a.txt');
    expect(res.body.length ?? 0).toBe(0);
    await app.close();
  });

  it('warns at startup about a rule an earlier rule shadows', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const app = await appWith({
        rules: [
          { sourceDir: dir, destinationDir: '/a' },
          { sourceDir: join(dir, 'sub'), destinationDir: '/b' },
        ],
      });
      expect(warn).toHaveBeenCalledWith(
        'rules[1] overlaps rules[0], which comes first and matches all its files: rules[1] is never used',
      );
      await app.close();
    } finally {
      warn.mockRestore();
    }
  });

  describe('fails at startup, naming the rule and the field', () => {
    const cases: [string, DownloadModuleOptions, RegExp][] = [
      ['no source', { rules: [{ destinationDir: '/x' }] }, /rules\[0\]: "sourceUrl" or "sourceDir" is required/],
      ['no destination', { rules: [rule, { sourceUrl: '/m/' }] }, /rules\[1\]: "destinationDir" is required/],
      [
        'relative destination',
        { rules: [{ sourceUrl: '/m/', destinationDir: 'srv' }] },
        /rules\[0\]: "destinationDir" must be an absolute directory for backend "lighttpd"/,
      ],
      [
        'relative sourceDir',
        { rules: [{ sourceDir: 'media', destinationDir: '/srv' }] },
        /rules\[0\]: "sourceDir" must be an absolute directory/,
      ],
      ['unknown backend', { backend: 'varnish', rules: [] }, /"backend" names an unknown backend "varnish"/],
      [
        'unknown rule backend',
        { rules: [{ ...rule, backend: 'iis' }] },
        /rules\[0\]: "backend" names an unknown backend "iis"/,
      ],
      [
        'unknown key',
        { rules: [{ ...rule, destinationDirectory: '/x' } as never] },
        /rules\[0\]: "destinationDirectory" is not a known option \(did you mean "destinationDir"\?\)/,
      ],
      ['unknown module key', { rule: [] } as never, /"rule" is not a known option \(did you mean "rules"\?\)/],
      ['bad mode', { mode: 'sometimes' as never }, /"mode" must be one of always, auto, off/],
      [
        'bad trusted proxy',
        { trustedProxies: ['localhost'] },
        /"trustedProxies\[0\]" must be an IP address or CIDR block/,
      ],
      [
        'CR in destination',
        { rules: [{ sourceUrl: '/m/', destinationDir: '/srv\r\nX-Evil: 1' }] },
        /rules\[0\]: "destinationDir" must not contain control characters/,
      ],
    ];
    it.each(cases)('%s', async (_, options, message) => {
      const attempt = appWith(options);
      await expect(attempt).rejects.toThrow(DownloadConfigError);
      await expect(appWith(options)).rejects.toThrow(message);
    });
  });

  describe('an invalid @XSendfile() rule fails at startup too, before any request', () => {
    const routeCases: [string, object, RegExp][] = [
      [
        'relative destination',
        { sourceUrl: '/m/', destinationDir: 'srv' },
        /@XSendfile on ReportsController\.report: "destinationDir" must be an absolute directory/,
      ],
      [
        'unknown key',
        { backend: 'nginx', modes: 'off' },
        /@XSendfile on ReportsController\.report: "modes" is not a known option \(did you mean "mode"\?\)/,
      ],
      [
        'unknown backend',
        { backend: 'iis' },
        /@XSendfile on ReportsController\.report: "backend" names an unknown backend "iis"/,
      ],
    ];
    it.each(routeCases)('%s', async (_, routeRule, message) => {
      let called = false;
      @Controller('reports')
      class ReportsController {
        @Get()
        @XSendfile(routeRule)
        report() {
          called = true;
          return DownloadFile.fromPath(join(dir, 'a.txt'));
        }
      }
      const moduleRef = await Test.createTestingModule({
        imports: [DownloadModule.forRoot({ rules: [rule] })],
        controllers: [ReportsController],
      }).compile();
      await expect(createTestApp(moduleRef)).rejects.toThrow(message);
      expect(called).toBe(false);
    });
  });
});
