import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  stop(): void;
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

  const child: ChildProcess = spawn(binary, ['-D', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const stop = () => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${options.port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      await fetch(url, { method: 'HEAD' });
      return { url, stop };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  let log = stderr;
  try {
    log += readFileSync(join(dir, 'error.log'), 'utf8');
  } catch {
    /* lighttpd wrote none */
  }
  stop();
  throw new Error(`lighttpd did not start on port ${options.port}: ${log.trim().split('\n').pop() ?? 'no message'}`);
}
