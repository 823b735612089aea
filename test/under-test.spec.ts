import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { DownloadModule } from 'nestjs-downloadview';
import { PLATFORM, UNDER, createTestApp } from './support/platform.js';

// Guards the parametrisation itself: a mapping mistake would run every project on one NestJS, one
// platform or on src/, and all of them would still pass.
describe('what this project runs against', () => {
  const require = createRequire(import.meta.url);
  /** The version of the copy of `name` the suites load (not every package exports its package.json). */
  const loadedVersion = (name: string): string => {
    for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name: found, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version: string };
      if (found === name) return version;
    }
    throw new Error(`no package.json for ${name}`);
  };

  it(`NestJS ${UNDER.nest}`, () => {
    for (const name of [
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/testing',
      '@nestjs/platform-express',
      '@nestjs/platform-fastify',
    ]) {
      const version = loadedVersion(name);
      expect(`${name}@${version.split('.').slice(0, UNDER.nest.split('.').length).join('.')}`).toBe(
        `${name}@${UNDER.nest}`,
      );
    }
  });

  it(UNDER.packed ? 'nestjs-downloadview installed from the tarball' : 'nestjs-downloadview from src/', () => {
    const entry = require.resolve('nestjs-downloadview');
    const expected = UNDER.packed ? ['node_modules', 'nestjs-downloadview', 'dist', 'index.js'] : ['src', 'index.ts'];
    expect(entry.endsWith(sep + expected.join(sep))).toBe(true);
    expect(typeof DownloadModule.forRoot).toBe('function');
  });

  it(`the ${PLATFORM} platform`, async () => {
    @Module({ imports: [DownloadModule.forRoot({ rules: [] })] })
    class EmptyModule {}
    const app = await createTestApp(await Test.createTestingModule({ imports: [EmptyModule] }).compile());
    expect(app.getHttpAdapter().getType()).toBe(PLATFORM);
    await app.close();
  });
});
