import 'reflect-metadata';
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

// @opentelemetry/api is an optional peer dependency, used by `nestjs-downloadview/otel` only: an app
// without it must never load it, whatever else of the package it uses.

/** The packages a source file and everything it imports (relatively) import, from src/. */
function packagesImportedFrom(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    // Static imports and re-exports, `import('…')` and `require('…')`: any way of loading a module.
    for (const [, specifier] of source.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)'([^']+)'/g)) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  };
  visit(resolve(entry));
  return packages;
}

const otel = (packages: Set<string>) => [...packages].filter((name) => name.startsWith('@opentelemetry/'));

describe('an app without @opentelemetry/api', () => {
  it.each(['index', 'testing/index', 'health/index', 's3/index', 'fastcgi/index'])(
    'src/%s.ts and what it imports never name an @opentelemetry package',
    (entry) => {
      expect(otel(packagesImportedFrom(join('src', `${entry}.ts`)))).toEqual([]);
    },
  );

  it('only the /otel entry point does', () => {
    expect(otel(packagesImportedFrom('src/otel/index.ts'))).toEqual(['@opentelemetry/api']);
  });

  it('loads the package and serves a file with the API hidden; /otel then fails to load', async () => {
    jest.unstable_mockModule('@opentelemetry/api', () => {
      throw new Error('Cannot find package @opentelemetry/api');
    });
    const { Controller, Get } = await import('@nestjs/common');
    const { Test } = await import('@nestjs/testing');
    const { DownloadFile, DownloadModule } = await import('nestjs-downloadview');
    const { createTestApp } = await import('./support/platform.js');

    @Controller()
    class FileController {
      @Get('file')
      file() {
        return DownloadFile.fromBuffer('no metrics here', { name: 'a.txt' });
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [DownloadModule.forRoot({})],
      controllers: [FileController],
    }).compile();
    const app = await createTestApp(moduleRef);
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/file`);
      expect(await res.text()).toBe('no metrics here');
    } finally {
      await app.close();
    }
    await expect(import('nestjs-downloadview/otel')).rejects.toThrow('Cannot find package @opentelemetry/api');
  });
});
