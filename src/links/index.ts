export {
  ProxyLinkSigner,
  PROXY_LINK_PARAMETERS,
  type ProxyLinkCheck,
  type ProxyLinkKey,
  type ProxyLinkOptions,
  type ProxyLinkSignerOptions,
} from './proxy-link-signer.js';
export {
  ProxyLinkAuthController,
  PROXY_LINK_CACHE_CONTROL_HEADER,
  PROXY_LINK_DISPOSITION_HEADER,
} from './proxy-link-auth.controller.js';
export {
  NginxSecureLinkSigner,
  type NginxSecureLinkOptions,
  type NginxSecureLinkSignerOptions,
} from './nginx-secure-link-signer.js';
