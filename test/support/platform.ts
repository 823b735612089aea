import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';

export type Platform = 'express' | 'fastify';

/** Set per Jest project (jest.config.js): what the suites of that project run against. */
declare const UNDER_TEST: { nest: string; packed: boolean; platform: Platform };
export const UNDER: Readonly<typeof UNDER_TEST> = UNDER_TEST;

/** The Nest HTTP platform of this Jest project: every suite that starts an app runs on both. */
export const PLATFORM: Platform = UNDER_TEST.platform;

/** An initialised app on this project's platform, ready for supertest or `listen()`. */
export async function createTestApp(
  moduleRef: TestingModule,
  /** What the app sets up before init(), as in a main.ts: `enableCors()`, say. */
  prepare?: (app: INestApplication) => void,
): Promise<INestApplication> {
  const options = { logger: process.env.TEST_LOG ? undefined : (false as const) };
  const app =
    PLATFORM === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), options)
      : moduleRef.createNestApplication(options);
  if (PLATFORM === 'fastify') acceptRawBodies(app as NestFastifyApplication);
  prepare?.(app);
  await app.init();
  if (PLATFORM === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  return app;
}

/**
 * Fastify answers 415 to a body it has no parser for; the sample's upload route reads the raw
 * request itself, so any other type is left unread (what the README tells Fastify users to do).
 */
function acceptRawBodies(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addContentTypeParser('*', (_request: unknown, _payload: unknown, done: (error: null) => void) => done(null));
}
