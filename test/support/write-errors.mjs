// Runs one failing save in a folder the caller prepared (a full tmpfs, a read-only one, one it may
// not write, no descriptors left) and prints what came of it as JSON: the HTTP status the error
// maps to and what the folder holds afterwards. Run by test/storage-writes.spec.ts in a private
// mount namespace (unshare -m), as root or as nobody.
import { openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { FileSystemStorage } from 'nestjs-downloadview';

const [scenario, dir] = process.argv.slice(2);
const storage = new FileSystemStorage({ location: dir });
const MiB = 1024 * 1024;
const chunks = (count) => Readable.from(Array.from({ length: count }, () => Buffer.alloc(64 * 1024, 7)));

async function statusOf(attempt) {
  try {
    await attempt();
    return 'saved';
  } catch (error) {
    return typeof error.getStatus === 'function'
      ? `${error.getStatus()} ${error.message}`
      : `${error.code ?? ''} ${error.message}`;
  }
}

const result = { scenario };
if (scenario === 'enospc') {
  storage.saveSync('keep.txt', 'the old file\n');
  result.stream = await statusOf(() => storage.save('big.bin', chunks(32)));
  result.overwrite = await statusOf(() => storage.save('keep.txt', chunks(32), { onConflict: 'overwrite' }));
  result.sync = await statusOf(() => storage.saveSync('big2.bin', Buffer.alloc(2 * MiB)));
  result.kept = readFileSync(`${dir}/keep.txt`, 'utf8');
} else if (scenario === 'emfile') {
  // Warm up first: whatever Nest loads lazily (an exception's first use) needs descriptors too.
  await statusOf(() => storage.save('../x', 'x'));
  await statusOf(() => storage.save('warm.txt', 'x'));
  storage.deleteSync('warm.txt');
  const held = [];
  try {
    for (;;) held.push(openSync('/dev/null', 'r'));
  } catch {
    /* EMFILE: no descriptor left */
  }
  result.full = await statusOf(() => storage.save('a.txt', 'A'));
  held.forEach((fd) => closeSync(fd));
  result.after = await statusOf(() => storage.save('a.txt', 'A'));
} else {
  result.save = await statusOf(() => storage.save('a.txt', 'A'));
  result.nested = await statusOf(() => storage.save('sub/b.txt', 'B'));
}
result.files = readdirSync(dir).sort();
console.log(JSON.stringify(result));
