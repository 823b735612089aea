export {
  assertApacheXSendfile,
  assertDelegatedDownload,
  assertXAccelRedirect,
  assertXLighttpdSendfile,
  assertXSendfile,
  assertXSendfile2,
  type DelegationExpectation,
  type ResponseLike,
} from './assert-delegated.js';
export { downloadMatchers } from './matchers.js';
