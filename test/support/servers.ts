import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether process `pid` itself listens on 127.0.0.1:`port` (or on every address), read from /proc.
 * A connection probe cannot tell: it may reach another process that took the port after
 * freePort() released it, or connect to itself (a local port the kernel chose equal to `port`).
 */
export function listensOn(pid: number, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // fields: sl local_address rem_address st ... inode (10th); 0A is LISTEN.
      if (fields.length > 9 && fields[1].endsWith(`:${hexPort}`) && fields[3] === '0A') inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // gone
  }
  return fds.some((fd) => {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      return target.startsWith('socket:[') && inodes.has(target.slice(8, -1));
    } catch {
      return false; // closed meanwhile
    }
  });
}

export interface RunningServer {
  port: number;
  dir: string;
  stop(): Promise<void>;
  log(): string;
}

export interface ServerSpec {
  name: string;
  /** The binary, e.g. /usr/sbin/lighttpd. */
  command: string;
  /** Writes the configuration into `dir` for `port`, and returns the arguments to run it in the foreground. */
  configure(dir: string, port: number): { args: string[]; check?: string[]; errorLog: string };
}

/** Starts a real server in the foreground on a free loopback port; `stop()` kills it and removes its folder. */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  if (!existsSync(spec.command)) {
    // One line that says what to do (npm test's first step installs the servers where it can).
    throw new Error(
      `${spec.name} is not installed (${spec.command}): run "bash scripts/test-servers.sh" as root, or apt-get install it`,
    );
  }
  // freePort() releases its port before the server binds it: another process may take it meanwhile
  // (the server then exits, "address in use"); a new port is tried then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(spec);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === 3) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnFreePort(spec: ServerSpec): Promise<RunningServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `${spec.name}-`));
  const { args, check, errorLog } = spec.configure(dir, port);
  if (check) {
    const checked = spawnSync(spec.command, check, { encoding: 'utf8' });
    if (checked.status !== 0) {
      throw new Error(
        `${spec.name} configuration rejected:\n${checked.error?.message ?? ''}${checked.stdout ?? ''}${checked.stderr ?? ''}`,
      );
    }
  }
  const child: ChildProcess = spawn(spec.command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const log = () => {
    let text = output;
    try {
      text += readFileSync(errorLog, 'utf8');
    } catch {
      /* not written yet */
    }
    return text;
  };
  const deadline = Date.now() + 10_000;
  while (!listensOn(child.pid!, port)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const message = `${spec.name} did not start on port ${port}:\n${log()}`;
      rmSync(dir, { recursive: true, force: true });
      throw /address already in use/i.test(message) ? new PortTakenError(message) : new Error(message);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, dir, stop: () => stopProcess(child, dir), log };
}

/** SIGTERM (SIGKILL 3 s later if need be), then removes the process's folder. */
export function stopProcess(child: ChildProcess, dir: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      rmSync(dir, { recursive: true, force: true });
      resolve();
    };
    if (child.exitCode !== null) return done();
    child.once('exit', done);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function fileSha256(path: string): string {
  return sha256(readFileSync(path));
}

/** Writes a file of `size` pseudo-random bytes (seeded, so runs are comparable). */
export function writeBinaryFile(path: string, size: number, seed = 1): void {
  const data = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = x >> 16;
  }
  writeFileSync(path, data);
}

/** A raw GET through a server, with the body as bytes (fetch would decode nothing here either). */
export async function fetchBytes(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** A server run from one configuration file written into its folder (lighttpd, nginx, apache, caddy). */
export function startConfiguredServer(spec: {
  name: string;
  command: string;
  configFile: string;
  config: (dir: string, port: number) => string;
  args: (file: string) => string[];
  check: (file: string) => string[];
  prepare?: (dir: string) => void;
}): Promise<RunningServer> {
  return startServer({
    name: spec.name,
    command: spec.command,
    configure(dir, port) {
      const file = join(dir, spec.configFile);
      spec.prepare?.(dir);
      writeFileSync(file, spec.config(dir, port));
      return { args: spec.args(file), check: spec.check(file), errorLog: join(dir, 'error.log') };
    },
  });
}
