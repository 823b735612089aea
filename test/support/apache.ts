import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { startConfiguredServer, type RunningServer } from './servers.js';

export interface ApacheOptions {
  appPort: number;
  /** XSendFilePath: the folders mod_xsendfile may send from. */
  paths: string[];
}

export function apacheConfig(dir: string, port: number, options: ApacheOptions): string {
  return `
ServerRoot "/etc/apache2"
ServerName localhost
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
Mutex file:${dir}
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule xsendfile_module /usr/lib/apache2/modules/mod_xsendfile.so
User www-data
Group www-data
XSendFile On
${options.paths.map((p) => `XSendFilePath "${p}"`).join('\n')}
# mod_xsendfile behind mod_proxy gives every file ETag "0": a false 304 across files. Drop it.
FileETag None
RequestHeader set X-Sendfile-Type X-Sendfile
ProxyPass "/" "http://127.0.0.1:${options.appPort}/"
`;
}

/** apache refuses to run as root: its www-data workers must be able to reach the files. */
export function openUpForApache(folder: string): void {
  for (let d = folder; d !== '/' && d !== dirname(d); d = dirname(d)) {
    try {
      chmodSync(d, 0o755);
    } catch {
      /* not ours */
    }
    if (d === '/tmp') break;
  }
}

export function startApache(options: ApacheOptions): Promise<RunningServer> {
  return startConfiguredServer({
    name: 'apache',
    command: '/usr/sbin/apache2',
    configFile: 'apache.conf',
    config: (dir, port) => apacheConfig(dir, port, options),
    args: (file) => ['-DFOREGROUND', '-f', file],
    check: (file) => ['-t', '-f', file],
  });
}
