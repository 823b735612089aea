import { execFile } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One entry of a zip as Python's `zipfile` reads it, with the SHA-256 of its extracted bytes. */
export interface ListedEntry {
  name: string;
  size: number;
  sha256: string;
  /** General purpose flags: 0x800 says the name is UTF-8. */
  flags: number;
  /** 0 stored, 8 deflated. */
  method: number;
}

// Reads every entry through zipfile (which checks each CRC), hashing it in 1 MiB chunks.
const LIST = `
import hashlib, json, sys, zipfile
out = []
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        h = hashlib.sha256()
        with z.open(info) as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        out.append({'name': info.filename, 'size': info.file_size, 'sha256': h.hexdigest(),
                    'flags': info.flag_bits, 'method': info.compress_type})
json.dump(out, sys.stdout)
`;

/** The entries of the zip at `path`, read by Python's zipfile. */
export async function listZip(path: string): Promise<ListedEntry[]> {
  const { stdout } = await run('python3', ['-c', LIST, path], { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout) as ListedEntry[];
}

/** `unzip -t`: Info-ZIP tests every entry (CRC, sizes); it exits non-zero on any error. */
export async function unzipTest(path: string): Promise<string> {
  const { stdout } = await run('unzip', ['-t', path], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

/** Extracts the zip at `path` into `dir` with Info-ZIP's unzip, as a user would. */
export async function unzipInto(path: string, dir: string): Promise<void> {
  await run('unzip', ['-q', '-o', path, '-d', dir], { maxBuffer: 64 * 1024 * 1024 });
}

/** Polls `condition` until it holds, for up to 5 s (the caller then asserts it). */
export async function settles(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
}

/** GETs `url`, and leaves once the first bytes of the body arrived. */
export function abortAfterFirstBytes(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (error) => (req.destroyed ? resolve() : reject(error)));
  });
}
