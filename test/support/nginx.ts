import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type RunningServer } from './servers.js';

export interface NginxOptions {
  appPort: number;
  /** Internal locations: URI prefix → folder (`internal; alias`) or upstream URL (`internal; proxy_pass`). */
  internal: Record<string, string>;
}

export function nginxConfig(dir: string, port: number, options: NginxOptions): string {
  const locations = Object.entries(options.internal)
    .map(([uri, target]) =>
      target.startsWith('http')
        ? `    location ${uri} { internal; proxy_pass ${target}; }`
        : `    location ${uri} { internal; alias ${target.endsWith('/') ? target : `${target}/`}; }`,
    )
    .join('\n');
  return `
daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  include /etc/nginx/mime.types;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
${locations}
    location / { proxy_pass http://127.0.0.1:${options.appPort}; proxy_set_header X-Sendfile-Type X-Accel-Redirect; }
  }
}
`;
}

export function startNginx(options: NginxOptions): Promise<RunningServer> {
  return startServer({
    name: 'nginx',
    command: '/usr/sbin/nginx',
    configure(dir, port) {
      const file = join(dir, 'nginx.conf');
      mkdirSync(join(dir, 'body'));
      writeFileSync(file, nginxConfig(dir, port, options));
      return { args: ['-c', file], check: ['-t', '-q', '-c', file], errorLog: join(dir, 'error.log') };
    },
  });
}
