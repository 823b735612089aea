import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the sample keeps its files; the proxy's x-sendfile docroot is this same folder. */
export function mediaRoot(): string {
  return resolve(process.env.SAMPLE_MEDIA_ROOT ?? join(process.cwd(), 'sample', 'media'));
}

/** Creates the demo files (django-downloadview's demo writes the same hello-world.txt). */
export function seedMedia(root: string): void {
  for (const dir of [
    'lighttpd',
    'decorated',
    'private',
    'unmatched',
    'nginx',
    'apache',
    'apache-optimized-by-decorator',
  ]) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'hello-world.txt'), 'Hello world!\n');
  }
}
