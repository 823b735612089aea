import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
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

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
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
  while (!(await portAccepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${spec.name} did not start on port ${port}:\n${log()}`);
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
