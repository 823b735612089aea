export {
  assertApacheXSendfile,
  assertDelegatedDownload,
  assertXAccelRedirect,
  assertXLighttpdSendfile,
  assertXSendfile,
  type DelegationExpectation,
  type ResponseLike,
} from './assert-delegated.js';
export { downloadMatchers } from './matchers.js';
