import { assertDelegatedDownload, type DelegationExpectation, type ResponseLike } from './assert-delegated.js';

type Expectation = DelegationExpectation & { backend?: string };

/**
 * Jest matcher: `expect(res).toBeDelegatedDownload({ backend, basename, contentType, filePath })`.
 * Register it with `expect.extend(downloadMatchers)`.
 */
export const downloadMatchers = {
  toBeDelegatedDownload(this: { isNot?: boolean }, received: ResponseLike, expected: Expectation = {}) {
    try {
      assertDelegatedDownload(received, expected);
      return {
        pass: true,
        message: () => `expected the response not to be a delegated ${expected.backend ?? 'lighttpd'} download`,
      };
    } catch (error) {
      return { pass: false, message: () => (error as Error).message };
    }
  },
};

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      toBeDelegatedDownload(expected?: Expectation): R;
    }
  }
}
