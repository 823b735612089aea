import { startConfiguredServer, type RunningServer } from './servers.js';

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
  return startConfiguredServer({
    name: 'caddy',
    command: '/usr/bin/caddy',
    configFile: 'Caddyfile',
    config: (_dir, port) => caddyfile(port, options),
    args: (file) => ['run', '--config', file, '--adapter', 'caddyfile'],
    check: (file) => ['validate', '--config', file, '--adapter', 'caddyfile'],
  });
}
