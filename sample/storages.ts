import { join } from 'node:path';
import { FileSystemStorage } from 'nestjs-downloadview';

export const SAMPLE_STORAGES = Symbol('SAMPLE_STORAGES');

export interface SampleStorages {
  lighttpd: FileSystemStorage;
  decorated: FileSystemStorage;
  private: FileSystemStorage;
  unmatched: FileSystemStorage;
  nginx: FileSystemStorage;
  apache: FileSystemStorage;
  /** Where uploads go: below the lighttpd folder, so its rule serves them too. */
  uploads: FileSystemStorage;
}

export function createStorages(root: string): SampleStorages {
  return {
    lighttpd: new FileSystemStorage({ location: join(root, 'lighttpd'), baseUrl: '/media/lighttpd/' }),
    decorated: new FileSystemStorage({ location: join(root, 'decorated'), baseUrl: '/media/decorated/' }),
    private: new FileSystemStorage({ location: join(root, 'private') }),
    unmatched: new FileSystemStorage({ location: join(root, 'unmatched'), baseUrl: '/media/unmatched/' }),
    nginx: new FileSystemStorage({ location: join(root, 'nginx'), baseUrl: '/media/nginx/' }),
    apache: new FileSystemStorage({ location: join(root, 'apache'), baseUrl: '/media/apache/' }),
    // Past maxBytes, an upload is refused with a 413 while it streams in.
    uploads: new FileSystemStorage({
      location: join(root, 'lighttpd', 'uploads'),
      baseUrl: '/media/lighttpd/uploads/',
      maxBytes: Number(process.env.SAMPLE_MAX_UPLOAD_BYTES ?? 64 * 1024 * 1024),
    }),
  };
}
