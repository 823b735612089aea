export { DownloadModule } from './download.module.js';
export { DOWNLOAD_MODULE_OPTIONS } from './download.module-definition.js';
export { XSENDFILE_METADATA, SENDFILE_TYPE_HEADER } from './download.constants.js';
export type {
  BackendOption,
  BackendRuleOptions,
  DownloadMode,
  DownloadModuleOptions,
  DownloadRule,
  XSendfileOptions,
} from './download.interfaces.js';
export { XSendfile } from './decorators/xsendfile.decorator.js';
export { DownloadFile, type DownloadFileOptions } from './files/download-file.js';
export { FileSystemStorage, type FileSystemStorageOptions, type SaveOptions } from './storage/file-system.storage.js';
export type { Storage } from './storage/storage.interface.js';
export { ObjectChangedError, type ObjectSource, type ObjectStat } from './sources/object.source.js';
export type { DownloadSource, FileIdentity } from './sources/download-source.js';
export type { OnConflict, SaveData } from './storage/atomic-write.js';
export { DownloadInterceptor } from './interceptors/download.interceptor.js';
export type {
  Delivery,
  DownloadObserver,
  FileResponseEvent,
  NodeDownloadEnd,
  NodeDownloadStart,
  SignatureRefusal,
  StorageErrorEvent,
  UploadEvent,
} from './metrics/download-observer.js';
export { DownloadConfigError } from './config/download-config.error.js';
export {
  BUILT_IN_BACKENDS,
  apacheBackend,
  caddyBackend,
  lighttpdBackend,
  lighttpd2Backend,
  lighttpdLegacyBackend,
  nginxBackend,
  redirectBackend,
  findDelegation,
  type DelegatedDownload,
  type DelegationHeaders,
  type DownloadBackend,
} from './backends/index.js';
export { SignedFileSystemStorage } from './storage/signed-file-system.storage.js';
export { UrlSigner, SIGNATURE_PARAMETER, type UrlSignerOptions } from './signing/url-signer.js';
export { SignatureRequired, SignatureGuard } from './decorators/signature-required.decorator.js';
export {
  runHealthcheck,
  formatHealthcheck,
  type HealthcheckOptions,
  type HealthcheckStep,
} from './health/healthcheck.js';
export {
  DownloadArchive,
  type ArchivableStorage,
  type ArchiveFile,
  type DownloadArchiveFromOptions,
  type DownloadArchiveOptions,
} from './archives/download-archive.js';
export {
  ProxyLinkSigner,
  ProxyLinkAuthController,
  PROXY_LINK_PARAMETERS,
  PROXY_LINK_CACHE_CONTROL_HEADER,
  PROXY_LINK_DISPOSITION_HEADER,
  NginxSecureLinkSigner,
  type NginxSecureLinkOptions,
  type NginxSecureLinkSignerOptions,
  type ProxyLinkCheck,
  type ProxyLinkKey,
  type ProxyLinkOptions,
  type ProxyLinkSignerOptions,
} from './links/index.js';
