import 'reflect-metadata';
import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DownloadModuleOptions } from 'nestjs-downloadview';

export interface SampleApp {
  app: INestApplication;
  root: string;
  close(): Promise<void>;
}

/**
 * The sample app over a fresh media folder. The sample's decorator reads the media root when its
 * module is first imported, so the folder is set in the environment before that import.
 */
export async function startSampleApp(overrides: Partial<DownloadModuleOptions> = {}, controllers: Type[] = []): Promise<SampleApp> {
  const root = sharedMediaRoot();
  const { AppModule } = await import('../../sample/app.module.js');
  const { seedMedia } = await import('../../sample/media.js');
  seedMedia(root);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(root, overrides, controllers)] }).compile();
  const app = moduleRef.createNestApplication({ logger: process.env.TEST_LOG ? undefined : false });
  await app.init();
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
