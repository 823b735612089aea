import 'reflect-metadata';
import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
export type Platform = 'express' | 'fastify';
/** Both Nest HTTP platforms: suites that take a platform run on each. */
export const PLATFORMS: Platform[] = ['express', 'fastify'];

export async function startSampleApp(overrides: Partial<DownloadModuleOptions> = {}, controllers: Type[] = [], platform: Platform = 'express'): Promise<SampleApp> {
  const root = sharedMediaRoot();
  const { AppModule } = await import('../../sample/app.module.js');
  const { seedMedia } = await import('../../sample/media.js');
  seedMedia(root);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(root, overrides, controllers)] }).compile();
  const options = { logger: process.env.TEST_LOG ? undefined : (false as const) };
  const app = platform === 'fastify'
    ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), options)
    : moduleRef.createNestApplication(options);
  await app.init();
  if (platform === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
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
