/** ts-jest in ESM mode: NestJS 12 is ESM-only. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^nestjs-downloadview$': '<rootDir>/src/index.ts',
    '^nestjs-downloadview/testing$': '<rootDir>/src/testing/index.ts',
    '^nestjs-downloadview/health$': '<rootDir>/src/health/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  // End-to-end suites start real proxies on loopback; give them room on a 2-core machine.
  testTimeout: 30000,
  maxWorkers: 2,
};
