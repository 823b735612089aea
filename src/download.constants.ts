/** Metadata key of `@XSendfile()`. */
export const XSENDFILE_METADATA = 'nestjs-downloadview:xsendfile';
/** The request header with which a proxy announces the delegation header it consumes. */
export const SENDFILE_TYPE_HEADER = 'x-sendfile-type';
/** Injection token of the validated, compiled module options. */
export const COMPILED_DOWNLOAD_OPTIONS = Symbol('nestjs-downloadview:compiled-options');
/** Injection token: whether DownloadModule installed its interceptor globally (not with forRoot({ scope: 'decorated' })). */
export const GLOBAL_DOWNLOAD_INTERCEPTOR = Symbol('nestjs-downloadview:global-interceptor');
