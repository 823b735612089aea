import { UrlSigner, type UrlSignerOptions } from '../signing/url-signer.js';
import { FileSystemStorage, type FileSystemStorageOptions } from './file-system.storage.js';

/**
 * A FileSystemStorage whose `url(name)` carries a signature and an expiry (django-downloadview's
 * SignedFileSystemStorage). Protect the route that serves these URLs with `@SignatureRequired(storage)`.
 */
export class SignedFileSystemStorage extends FileSystemStorage {
  readonly signer: UrlSigner;

  constructor(options: FileSystemStorageOptions & UrlSignerOptions) {
    super(options);
    this.signer = new UrlSigner(options);
  }

  /** The public URL with its `X-Signature`. Rules still match it by `sourceUrl` (the query is ignored). */
  override url(name: string): string {
    return this.signer.sign(super.url(name));
  }
}
