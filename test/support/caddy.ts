import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type RunningServer } from './servers.js';

export interface CaddyOptions {
  appPort: number;
  /** The folder X-Accel-Redirect paths are relative to. */
  root: string;
}

/** The Caddyfile the sample ships (sample/Caddyfile), for a port, an app port and a root. */
export function caddyfile(port: number, options: CaddyOptions): string {
  return `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  reverse_proxy 127.0.0.1:${options.appPort} {
    header_up X-Sendfile-Type X-Accel-Redirect
    @accel header X-Accel-Redirect *
    handle_response @accel {
      root * ${options.root}
      rewrite * {rp.header.X-Accel-Redirect}
      method * GET
      copy_response_headers {
        include Content-Type Content-Disposition
      }
      file_server
    }
  }
}
`;
}

export function startCaddy(options: CaddyOptions): Promise<RunningServer> {
  return startServer({
    name: 'caddy',
    command: '/usr/bin/caddy',
    configure(dir, port) {
      const file = join(dir, 'Caddyfile');
      writeFileSync(file, caddyfile(port, options));
      return {
        args: ['run', '--config', file, '--adapter', 'caddyfile'],
        check: ['validate', '--config', file, '--adapter', 'caddyfile'],
        errorLog: join(dir, 'none.log'),
      };
    },
  });
}
