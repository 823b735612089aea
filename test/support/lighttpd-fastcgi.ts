import { startConfiguredServer, type RunningServer } from './servers.js';

/** lighttpd with mod_fastcgi in front of a FastCGI gateway: the only way it honours X-Sendfile2. */
export function startLighttpdFastCgi(options: { fastcgiPort: number; docroots: string[] }): Promise<RunningServer> {
  const docroots = options.docroots.map((d) => JSON.stringify(d.endsWith('/') ? d : `${d}/`)).join(', ');
  return startConfiguredServer({
    name: 'lighttpd-fastcgi',
    command: '/usr/sbin/lighttpd',
    configFile: 'lighttpd.conf',
    config: (dir, port) => `
server.modules = ( "mod_fastcgi" )
server.document-root = "${dir}"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${dir}/error.log"
fastcgi.server = ( "/" => ( (
  "host" => "127.0.0.1",
  "port" => ${options.fastcgiPort},
  "check-local" => "disable",
  "x-sendfile" => "enable",
  "x-sendfile-docroot" => ( ${docroots} )
) ) )
`,
    args: (file) => ['-D', '-f', file],
    check: (file) => ['-t', '-f', file],
  });
}
