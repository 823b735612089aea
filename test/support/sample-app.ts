import 'reflect-metadata';
import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DownloadModuleOptions } from 'nestjs-downloadview';
import { createTestApp } from './platform.js';

export interface SampleApp {
  app: INestApplication;
  root: string;
  close(): Promise<void>;
}

/**
 * The sample app over a fresh media folder, on this Jest project's platform. The sample's decorator
 * reads the media root when its module is first imported, so the folder is set in the environment
 * before that import.
 */
export async function startSampleApp(
  overrides: Partial<DownloadModuleOptions> = {},
  controllers: Type[] = [],
): Promise<SampleApp> {
  const root = sharedMediaRoot();
  const { AppModule } = await import('../../sample/app.module.js');
  const { seedMedia } = await import('../../sample/media.js');
  seedMedia(root);
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(root, overrides, controllers)],
  }).compile();
  const app = await createTestApp(moduleRef);
  return { app, root, close: () => app.close() };
}

let shared: string | undefined;
/** One media folder per test file (the sample's decorator rule is fixed at import). */
export function sharedMediaRoot(): string {
  if (!shared) {
    shared = mkdtempSync(join(tmpdir(), 'downloadview-'));
    process.env.SAMPLE_MEDIA_ROOT = shared;
    process.on('exit', () => rmSync(shared!, { recursive: true, force: true }));
  }
  return shared;
}

/**
 * The CLI as users run it: the installed bin where the suites run in an app that installed the
 * tarball (.packed/), else the repository's build.
 */
export function cliCommand(): [string, ...string[]] {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const installed = join(root, 'node_modules', '.bin', 'nestjs-downloadview');
  return existsSync(installed) ? [installed] : [process.execPath, join(root, 'dist', 'cli', 'main.js')];
}
