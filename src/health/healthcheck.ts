import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { findDelegation, type DownloadBackend } from '../backends/index.js';
import type { Storage } from '../storage/storage.interface.js';

/** Reads a delegation header back as its backend's server does; a malformed value is shown as it came. */
function readBack(backend: DownloadBackend, value: string): string {
  try {
    return backend.readHeader ? backend.readHeader(value) : value;
  } catch {
    return value;
  }
}

export interface HealthcheckOptions {
  /** A download route on the app, hit directly. */
  app: string;
  /** The same route through the proxy. */
  proxy: string;
  /** The file on disk that route serves (enables the byte comparison). */
  file?: string;
  /**
   * Or the object in a bucket that route serves (`S3Storage` and a name): the storage step checks
   * that the bucket answers and the object reads through its signed URL, and the proxy step
   * compares the bytes nginx fetched from the bucket with it.
   */
  object?: { storage: Pick<Storage, 'download'>; name: string };
  /** Milliseconds per request. Default 10,000. */
  timeout?: number;
}

export interface HealthcheckStep {
  name: 'storage' | 'app → proxy' | 'proxy → storage' | 'full chain';
  ok: boolean;
  /** What was seen, and on failure what to fix. */
  detail: string;
}

interface Fetched {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function get(url: string, timeout: number, headers: Record<string, string> = {}): Promise<Fetched> {
  const res = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeout) });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The delegation header a response carries (lower case) and its value. */
function delegationHeader(headers: Headers): [string, string, DownloadBackend] | undefined {
  const found = findDelegation((name) => headers.get(name));
  return found && [found.backend.header.toLowerCase(), found.value, found.backend];
}

/**
 * django-downloadview's four manual checks of an X-Sendfile setup, automated:
 * storage → app → proxy → full chain. Each step says what it saw and, when it fails, what to fix.
 */
export async function runHealthcheck(options: HealthcheckOptions): Promise<HealthcheckStep[]> {
  const timeout = options.timeout ?? 10_000;
  const steps: HealthcheckStep[] = [];
  let fileBytes: Buffer | undefined;

  // 1. storage
  if (options.object) {
    const { storage, name } = options.object;
    try {
      const signedUrl = (await storage.download(name)).object?.signedUrl;
      if (!signedUrl) throw new Error('the storage gave no signed URL for it (not an object in a bucket)');
      const read = await get(signedUrl, timeout);
      if (read.status !== 200)
        throw new Error(`its signed URL answered ${read.status}: check the client's credentials, region and clock`);
      fileBytes = read.body;
      steps.push({
        name: 'storage',
        ok: true,
        detail: `${name} is in the bucket and reads through its signed URL (${read.body.length} bytes)`,
      });
    } catch (error) {
      steps.push({ name: 'storage', ok: false, detail: `${name}: ${(error as Error).message}` });
    }
  } else if (options.file) {
    try {
      const info = await stat(options.file);
      if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
      await access(options.file, constants.R_OK);
      fileBytes = await readFile(options.file);
      steps.push({ name: 'storage', ok: true, detail: `${options.file} exists and is readable (${info.size} bytes)` });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const fix =
        code === 'ENOENT'
          ? 'the file does not exist: check the storage location and the name'
          : code === 'EACCES'
            ? 'the file is not readable: fix its permissions'
            : (error as Error).message;
      steps.push({ name: 'storage', ok: false, detail: `${options.file}: ${fix}` });
    }
  } else {
    steps.push({ name: 'storage', ok: true, detail: 'skipped (no --file given)' });
  }

  // 2. app → proxy: hit directly, the app must answer with a delegation header and no body.
  let appAnswer: Fetched | undefined;
  let delegation: [string, string, DownloadBackend] | undefined;
  try {
    // Announce every header, as a proxy would, so that an app in mode 'auto' delegates too.
    appAnswer = await get(options.app, timeout, { 'X-Sendfile-Type': 'X-Sendfile' });
    delegation = delegationHeader(appAnswer.headers);
    if (!delegation) {
      appAnswer = await get(options.app, timeout, { 'X-Sendfile-Type': 'X-Accel-Redirect' });
      delegation = delegationHeader(appAnswer.headers);
    }
    if (!delegation) {
      steps.push({
        name: 'app → proxy',
        ok: false,
        detail: `the app answered ${appAnswer.status} without a delegation header: no DownloadModule rule matches this file (check sourceUrl/sourceDir), or mode is 'off'`,
      });
    } else {
      const [header, value, backend] = delegation;
      const target = readBack(backend, value);
      const mismatch = fileBytes && header !== 'x-accel-redirect' && target !== options.file;
      steps.push({
        name: 'app → proxy',
        ok: !mismatch,
        detail: mismatch
          ? `${header} names ${target}, not ${options.file}: check the rule's destinationDir`
          : `the app answered ${appAnswer.status} with ${header}: ${value}`,
      });
    }
  } catch (error) {
    steps.push({
      name: 'app → proxy',
      ok: false,
      detail: `cannot reach the app at ${options.app}: ${(error as Error).message}`,
    });
  }

  // 3. proxy → storage: the proxy must read the destination and send its bytes.
  let proxyAnswer: Fetched | undefined;
  let leaked: [string, string, DownloadBackend] | undefined;
  try {
    proxyAnswer = await get(options.proxy, timeout);
    leaked = delegationHeader(proxyAnswer.headers);
    const header = delegation?.[0] ?? 'x-sendfile';
    if (proxyAnswer.status === 403) {
      steps.push({
        name: 'proxy → storage',
        ok: false,
        detail: `the proxy refused the file (403): the destination is outside its allowed folders (lighttpd x-sendfile-docroot, XSendFilePath)`,
      });
    } else if (proxyAnswer.status === 404) {
      steps.push({
        name: 'proxy → storage',
        ok: false,
        detail: `the proxy found no file at the destination (404): wrong docroot, alias or destinationDir`,
      });
    } else if (proxyAnswer.status === 502 && options.object) {
      steps.push({
        name: 'proxy → storage',
        ok: false,
        detail:
          "the proxy answered 502: nginx could not fetch the object from the bucket (its internal location's proxy_pass must call the endpoint the app signs for, see sample/nginx-s3.conf)",
      });
    } else if (proxyAnswer.status >= 300) {
      steps.push({ name: 'proxy → storage', ok: false, detail: `the proxy answered ${proxyAnswer.status}` });
    } else if (leaked || proxyAnswer.body.length === 0) {
      const hint =
        header === 'x-accel-redirect'
          ? 'the proxy did not act on X-Accel-Redirect: add an internal location for destinationDir (nginx) or handle_response (caddy)'
          : header === 'x-sendfile2' || header === 'x-lighttpd-send-file'
            ? `lighttpd honours ${header} only from FastCGI backends: use mod_fastcgi (createFastCgiGateway)`
            : `lighttpd did not consume ${header}: enable "x-sendfile" => "enable" in proxy.server (or XSendFile On for apache)`;
      steps.push({
        name: 'proxy → storage',
        ok: false,
        detail: `the proxy answered ${proxyAnswer.status} with ${proxyAnswer.body.length} bytes${leaked ? ` and passed ${leaked[0]} on` : ''}: ${hint}`,
      });
    } else if (fileBytes && sha256(proxyAnswer.body) !== sha256(fileBytes)) {
      steps.push({
        name: 'proxy → storage',
        ok: false,
        detail: `the proxy sent ${proxyAnswer.body.length} bytes that differ from ${options.file ?? options.object?.name} (${fileBytes.length} bytes): the destination names another file`,
      });
    } else {
      steps.push({
        name: 'proxy → storage',
        ok: true,
        detail: `the proxy sent ${proxyAnswer.body.length} bytes${fileBytes ? `, identical to the ${options.object ? 'object' : 'file'}` : ''}`,
      });
    }
  } catch (error) {
    steps.push({
      name: 'proxy → storage',
      ok: false,
      detail: `cannot reach the proxy at ${options.proxy}: ${(error as Error).message}`,
    });
  }

  // 4. full chain: what the client gets keeps the app's headers and never the internal one.
  if (proxyAnswer && appAnswer) {
    const problems: string[] = [];
    if (leaked) problems.push(`the internal header ${leaked[0]} reached the client`);
    for (const name of ['content-type', 'content-disposition']) {
      const expected = appAnswer.headers.get(name);
      if (expected !== null && proxyAnswer.headers.get(name) !== expected) {
        problems.push(
          `${name} is ${JSON.stringify(proxyAnswer.headers.get(name))}, the app said ${JSON.stringify(expected)}`,
        );
      }
    }
    if (!steps[2].ok) problems.push('the bytes did not arrive (see above)');
    steps.push({
      name: 'full chain',
      ok: problems.length === 0,
      detail: problems.length
        ? problems.join('; ')
        : 'the client gets the bytes and the app headers, and no internal header',
    });
  } else {
    steps.push({ name: 'full chain', ok: false, detail: 'not checked: the app or the proxy could not be reached' });
  }
  return steps;
}

/** The steps as lines for a terminal: `PASS storage: …` / `FAIL proxy → storage: …`. */
export function formatHealthcheck(steps: HealthcheckStep[]): string {
  return steps.map((step, i) => `${step.ok ? 'PASS' : 'FAIL'} ${i + 1}. ${step.name}: ${step.detail}`).join('\n');
}
