import type { ArchiveSource } from './archive.source.js';
import type { DiskSource } from './disk.source.js';
import type { MemorySource } from './memory.source.js';
import type { ObjectFileSource } from './object.source.js';
import type { RemoteSource } from './remote.source.js';

export type { FileIdentity } from './file-identity.js';

/**
 * Where a download's bytes come from, told apart by `kind`. Each kind says what rules match it by
 * (`identity`; none for a file in memory, which is never delegated) and how Node reads it; adding a
 * kind means one file here, one case in `decide()` (can a proxy take it?) and one in `serveFromNode()`.
 */
export type DownloadSource = DiskSource | MemorySource | RemoteSource | ObjectFileSource | ArchiveSource;
