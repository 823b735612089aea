import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openUpForApache } from './apache.js';
import { startConfiguredServer, type RunningServer } from './servers.js';
import { sampleFile, startSampleNginxFile } from './signed-links.js';

/** A proxy run from the sample's own configuration, with its access log written to `accessLog`. */
export interface SampleProxy extends RunningServer {
  accessLog: string;
  /** The access log's whole lines so far (none while the proxy has written none). */
  accessLines(): string[];
}

export interface SampleProxyOptions {
  appPort: number;
  /** The sample's media folder. */
  root: string;
}

function withAccessLog(server: RunningServer): SampleProxy {
  const accessLog = join(server.dir, 'access.log');
  const accessLines = () => {
    try {
      // A line the proxy is still writing has no newline yet: it is left for the next read.
      return readFileSync(accessLog, 'utf8').split('\n').slice(0, -1).filter(Boolean);
    } catch {
      return []; // not written yet
    }
  };
  return { ...server, accessLog, accessLines };
}

/** sample/nginx.conf, verbatim but for its placeholders and where it writes. */
export async function startSampleNginx(options: SampleProxyOptions): Promise<SampleProxy> {
  return withAccessLog(
    await startSampleNginxFile(
      'nginx.conf',
      { pid: '/tmp/nginx-sample.pid', listen: '127.0.0.1:8081', appPort: options.appPort },
      (dir) => [
        // Debian's default temp folders may not be writable here.
        [
          'access_log /dev/stdout downloads;',
          `access_log ${dir}/access.log downloads;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;`,
        ],
        ['/ABSOLUTE/PATH/TO/sample/media/', `${options.root}/`],
      ],
    ),
  );
}

/** sample/lighttpd.conf, verbatim but for its placeholders and where it writes. */
export async function startSampleLighttpd(options: SampleProxyOptions): Promise<SampleProxy> {
  return withAccessLog(
    await startConfiguredServer({
      name: 'lighttpd',
      command: '/usr/sbin/lighttpd',
      configFile: 'lighttpd.conf',
      config: (dir, port) =>
        sampleFile('lighttpd.conf', [
          ['server.port = 8080', `server.port = ${port}\nserver.errorlog = "${dir}/error.log"`],
          ['"port" => 3000', `"port" => ${options.appPort}`],
          ['accesslog.filename = "/dev/stderr"', `accesslog.filename = "${dir}/access.log"`],
          ['/ABSOLUTE/PATH/TO/sample/media/', `${options.root}/`],
        ]),
      args: (file) => ['-D', '-f', file],
      check: (file) => ['-t', '-f', file],
    }),
  );
}

/** sample/Caddyfile, verbatim but for its placeholders and where it writes. */
export async function startSampleCaddy(options: SampleProxyOptions): Promise<SampleProxy> {
  return withAccessLog(
    await startConfiguredServer({
      name: 'caddy',
      command: '/usr/bin/caddy',
      configFile: 'Caddyfile',
      config: (dir, port) =>
        sampleFile('Caddyfile', [
          ['http://127.0.0.1:8083', `http://127.0.0.1:${port}`],
          ['127.0.0.1:3000', `127.0.0.1:${options.appPort}`],
          ['output stdout', `output file ${dir}/access.log`],
          ['/ABSOLUTE/PATH/TO/sample/media', options.root],
        ]),
      args: (file) => ['run', '--config', file, '--adapter', 'caddyfile'],
      check: (file) => ['validate', '--config', file, '--adapter', 'caddyfile'],
    }),
  );
}

/** sample/apache.conf, verbatim but for its placeholders and where it writes. */
export async function startSampleApache(options: SampleProxyOptions): Promise<SampleProxy> {
  // apache refuses to run as root: its www-data workers must reach the media folder.
  openUpForApache(options.root);
  return withAccessLog(
    await startConfiguredServer({
      name: 'apache',
      command: '/usr/sbin/apache2',
      configFile: 'apache.conf',
      config: (dir, port) =>
        sampleFile('apache.conf', [
          ['Listen 127.0.0.1:8082', `Listen 127.0.0.1:${port}`],
          ['PidFile /tmp/apache-sample.pid', `PidFile ${dir}/httpd.pid`],
          ['ErrorLog /dev/stderr', `ErrorLog ${dir}/error.log\nMutex file:${dir}`],
          ['CustomLog /dev/stdout downloads', `CustomLog ${dir}/access.log downloads`],
          ['http://127.0.0.1:3000/', `http://127.0.0.1:${options.appPort}/`],
          ['/ABSOLUTE/PATH/TO/sample/media', options.root],
        ]),
      args: (file) => ['-DFOREGROUND', '-f', file],
      check: (file) => ['-t', '-f', file],
    }),
  );
}
