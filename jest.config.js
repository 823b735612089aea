import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

// The AWS SDK's notice that its releases after January 2027 need Node 22 (printed once per process
// on Node 20, which this package supports): expected here, so the test run stays quiet about it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** ts-jest in ESM mode: NestJS 12 is ESM-only. */
const esm = {
  // Jest's 'node' environment, in which a process warning (MaxListenersExceededWarning…) fails the
  // test. The repository's own file in every project, the packed ones too (it is no code under test).
  testEnvironment: fileURLToPath(new URL('./test/support/fail-on-warnings.environment.mjs', import.meta.url)),
  extensionsToTreatAsEsm: ['.ts'],
  // End-to-end suites start real proxies on loopback; give them room on a 2-core machine.
  testTimeout: 30000,
};

/** The suites that start a Nest app: they run on Express and on Fastify. */
const APP_SUITES = [
  'under-test',
  'module-config',
  'signed-urls',
  'node-serving',
  'lighttpd-demo',
  'lighttpd.e2e',
  'lighttpd-fastcgi.e2e',
  'proxies.e2e',
  'healthcheck.e2e',
  'decision-log',
  'shutdown',
  'download-names.e2e',
  'archives.e2e',
  'proxy-links.e2e',
  'access-logs.e2e',
  'handoff-headers.e2e',
];
/**
 * App suites that run from src only: the packed apps install no AWS SDK and no OpenTelemetry
 * (optional peer dependencies), and the packaging test checks what the tarball says then.
 */
const SRC_APP_SUITES = ['s3.e2e', 'log-secrets', 'metrics.e2e'];
/** The suites that also run against the packed tarball (all but those that test src/ itself). */
const CORE_SUITES = [...APP_SUITES, 'backends'];
const PLATFORMS = ['express', 'fastify'];
const suites = (names) => names.map((suite) => `<rootDir>/test/${suite}.spec.ts`);

/** Every suite on Express; the app suites again on Fastify. */
const onEachPlatform = (project, allSuites, appSuites = APP_SUITES) =>
  PLATFORMS.map((platform) => ({
    ...project,
    displayName: `${project.displayName} · ${platform}`,
    globals: { UNDER_TEST: { ...project.globals.UNDER_TEST, platform } },
    testMatch: platform === 'express' ? allSuites : suites(appSuites),
  }));

/**
 * The same suites, copied by test/packed/prepare.mjs (npm's pretest) into a fresh app that
 * installed the tarball: there `nestjs-downloadview` and `@nestjs/*` resolve as in a user's app.
 */
const packed = (app, nest) =>
  onEachPlatform(
    {
      ...esm,
      displayName: `tarball · Nest ${nest} ${app.endsWith('cjs') ? 'CJS' : 'ESM'}`,
      globals: { UNDER_TEST: { nest, packed: true } },
      rootDir: resolve('.packed', app),
      moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
      transform: { '^.+\\.ts$': [require.resolve('ts-jest'), { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }] },
    },
    suites(CORE_SUITES),
  );

export default {
  maxWorkers: 2,
  // How long a worker may take to exit once the run is over (Jest's default: 500 ms, then "A worker
  // process has failed to exit gracefully"). A worker that ran the S3 suite holds ~400 MiB, and on a
  // busy 2-core machine tearing that down takes 0.3–0.8 s with nothing left open; a worker that
  // really leaks a handle never exits, and is still reported, 5 s later.
  workerGracefulExitTimeout: 5000,
  // Jest reads testTimeout from the top level only when there are projects (the 5 s default otherwise).
  testTimeout: 30000,
  projects: [
    ...onEachPlatform(
      {
        ...esm,
        displayName: 'src · Nest 12',
        globals: { UNDER_TEST: { nest: '12', packed: false } },
        moduleNameMapper: {
          '^nestjs-downloadview$': '<rootDir>/src/index.ts',
          '^nestjs-downloadview/testing$': '<rootDir>/src/testing/index.ts',
          '^nestjs-downloadview/health$': '<rootDir>/src/health/index.ts',
          '^nestjs-downloadview/s3$': '<rootDir>/src/s3/index.ts',
          '^nestjs-downloadview/fastcgi$': '<rootDir>/src/fastcgi/index.ts',
          '^nestjs-downloadview/otel$': '<rootDir>/src/otel/index.ts',
          '^(\\.{1,2}/.*)\\.js$': '$1',
        },
        transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
        modulePathIgnorePatterns: ['<rootDir>/.packed/'],
      },
      ['<rootDir>/test/**/*.spec.ts'],
      [...APP_SUITES, ...SRC_APP_SUITES],
    ),
    ...packed('nest12-esm', '12'),
    // The oldest 12 line: before 12.4, Nest sends no web Response itself (see web-response.ts).
    ...packed('nest12.0-esm', '12.0'),
    ...packed('nest11-cjs', '11'),
    // The oldest line the peer range allows.
    ...packed('nest11.0-cjs', '11.0'),
  ],
};
