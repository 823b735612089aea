import type { DownloadBackend } from './download-backend.interface.js';
import { encodePathSegments } from '../paths/path-encoding.js';

/**
 * No file-serving proxy at all: a `302` to where the client fetches the file itself — an object's
 * short-lived signed URL (S3Storage, which makes it answer with the app's Content-Type and
 * Content-Disposition), or, for other files, `destinationDir` (a CDN's URL) + the file's path.
 * The redirect itself must never be cached: the next request may not be allowed, and a signed URL
 * expires (Rails Active Storage's redirect mode, with `private, no-store`).
 */
export const redirectBackend: DownloadBackend = {
  name: 'redirect',
  header: 'Location',
  destinationKind: 'url',
  delegate: ({ signedUrl, destination, destinationDir }) => {
    const location = signedUrl ?? (destinationDir ? encodeUrlPath(destination) : undefined);
    if (!location) return undefined;
    return { status: 302, headers: { Location: location, 'Cache-Control': 'private, no-store' } };
  },
  readHeader: (value) => value,
};

/** `https://cdn.example.com/media/` + an encoded path (the origin part is left as configured). */
function encodeUrlPath(destination: string): string {
  const origin = /^https?:\/\/[^/]+/.exec(destination)?.[0] ?? '';
  return origin + encodePathSegments(destination.slice(origin.length));
}
