import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** lighttpd's binary: on the PATH, or in /usr/sbin (Debian's place, not on a user's PATH). */
export function findLighttpd(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, 'lighttpd'), constants.X_OK);
      return join(dir, 'lighttpd');
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export interface FrontProxy {
  url: string;
  /** lighttpd's process id: it runs in its own process group, and outlives a SIGKILL of the app. */
  pid: number;
  /**
   * Graceful (lighttpd's SIGINT): lighttpd closes its port, finishes the downloads it is sending
   * (at most `server.graceful-shutdown-timeout`), then exits; resolves then.
   */
  stop(): Promise<void>;
  /** At once (lighttpd's SIGTERM): what lighttpd is sending is cut. */
  kill(): void;
}

/**
 * Starts lighttpd in front of the sample app with sample/lighttpd.conf, its placeholders filled in
 * (media folder, ports). Resolves when lighttpd accepts connections; rejects with lighttpd's own
 * words when it cannot start (a port in use, say).
 */
export async function startLighttpd(
  binary: string,
  options: { port: number; appPort: number; media: string },
): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'downloadview-sample-lighttpd-'));
  const config = readFileSync(join(process.cwd(), 'sample', 'lighttpd.conf'), 'utf8')
    .replaceAll('/ABSOLUTE/PATH/TO/sample/media/', `${options.media}/`)
    .replace('server.port = 8080', `server.port = ${options.port}`)
    .replace('"port" => 3000', `"port" => ${options.appPort}`);
  const file = join(dir, 'lighttpd.conf');
  writeFileSync(file, `${config}\nserver.errorlog = "${dir}/error.log"\n`);
  const checked = spawnSync(binary, ['-t', '-f', file], { encoding: 'utf8' });
  if (checked.status !== 0) throw new Error(`lighttpd rejected its configuration: ${checked.stderr || checked.stdout}`);

  // Its own process group: a Ctrl-C in the terminal reaches the app only, which then stops lighttpd
  // gracefully (a second SIGINT would turn lighttpd's graceful shutdown into an immediate one).
  // stderr goes to a file, not a pipe, so that lighttpd may finish its downloads after the app.
  const stderrFile = join(dir, 'stderr.log');
  const stderr = openSync(stderrFile, 'w');
  const child: ChildProcess = spawn(binary, ['-D', '-f', file], {
    stdio: ['ignore', 'ignore', stderr],
    detached: true,
  });
  closeSync(stderr);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  const kill = () => {
    if (running()) child.kill('SIGTERM');
    cleanUp();
  };
  const stop = async () => {
    if (running()) child.kill('SIGINT');
    cleanUp(); // lighttpd has read its configuration, and keeps its log open
    await exited;
  };
  const url = `http://127.0.0.1:${options.port}`;
  for (let i = 0; i < 100; i++) {
    if (!running()) break;
    try {
      await fetch(url, { method: 'HEAD' });
      return { url, pid: child.pid!, stop, kill };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  let log = '';
  for (const name of [stderrFile, join(dir, 'error.log')]) {
    try {
      log += readFileSync(name, 'utf8');
    } catch {
      /* lighttpd wrote none */
    }
  }
  kill();
  throw new Error(`lighttpd did not start on port ${options.port}: ${log.trim().split('\n').pop() ?? 'no message'}`);
}

/**
 * Stops the front proxy when the app shuts down (Ctrl-C, SIGTERM), after the app's own drain: Nest
 * awaits it, so the process ends once lighttpd has finished the downloads it was sending. A second
 * Ctrl-C or SIGTERM meanwhile stops lighttpd at once.
 */
@Injectable()
export class FrontProxyShutdown implements OnApplicationShutdown {
  proxy?: FrontProxy;

  async onApplicationShutdown(): Promise<void> {
    const proxy = this.proxy;
    if (!proxy) return;
    console.log('lighttpd: finishing the downloads it is sending (Ctrl-C again stops it now)');
    const now = () => proxy.kill();
    process.once('SIGINT', now).once('SIGTERM', now);
    try {
      await proxy.stop();
    } finally {
      // Nest re-raises the signal after this hook: no listener of ours may catch it.
      process.removeListener('SIGINT', now).removeListener('SIGTERM', now);
    }
  }
}
