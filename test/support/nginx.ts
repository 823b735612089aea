import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startConfiguredServer, type RunningServer } from './servers.js';

export interface NginxOptions {
  appPort: number;
  /** Internal locations: URI prefix → folder (`internal; alias`) or upstream URL (`internal; proxy_pass`). */
  internal: Record<string, string>;
  /** More configuration inside the server block (e.g. sample/nginx-s3.conf's location). */
  extra?: string;
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
  # Connections to the app are kept and reused (as the README recommends).
  upstream app { server 127.0.0.1:${options.appPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
${locations}
${options.extra ?? ''}
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Sendfile-Type X-Accel-Redirect;
    }
  }
}
`;
}

export function startNginx(options: NginxOptions): Promise<RunningServer> {
  return startConfiguredServer({
    name: 'nginx',
    command: '/usr/sbin/nginx',
    configFile: 'nginx.conf',
    prepare: (dir) => mkdirSync(join(dir, 'body')),
    config: (dir, port) => nginxConfig(dir, port, options),
    args: (file) => ['-c', file],
    check: (file) => ['-t', '-q', '-c', file],
  });
}
