import { startConfiguredServer, type RunningServer } from './servers.js';

export interface LighttpdOptions {
  appPort: number;
  /** x-sendfile-docroot: the folders lighttpd may send from. Always set: without it lighttpd sends any file. */
  docroots: string[];
  /** Announce X-Sendfile to the app (for `mode: 'auto'`). */
  announce?: boolean;
  /** Leave x-sendfile off (a misconfigured proxy). */
  xSendfile?: boolean;
}

/** The configuration the sample ships (sample/lighttpd.conf), for a port, an app port and docroots. */
export function lighttpdConfig(dir: string, port: number, options: LighttpdOptions): string {
  const docroots = options.docroots.map((d) => JSON.stringify(d.endsWith('/') ? d : `${d}/`)).join(', ');
  return `
server.modules = ( "mod_proxy", "mod_setenv" )
server.document-root = "${dir}"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${dir}/error.log"
server.stream-response-body = 2
${options.announce ? 'setenv.add-request-header = ( "X-Sendfile-Type" => "X-Sendfile" )' : ''}
proxy.server = ( "" => ( (
  "host" => "127.0.0.1",
  "port" => ${options.appPort},
  "x-sendfile" => "${options.xSendfile === false ? 'disable' : 'enable'}",
  "x-sendfile-docroot" => ( ${docroots} )
) ) )
`;
}

export function startLighttpd(options: LighttpdOptions): Promise<RunningServer> {
  return startConfiguredServer({
    name: 'lighttpd',
    command: '/usr/sbin/lighttpd',
    configFile: 'lighttpd.conf',
    config: (dir, port) => lighttpdConfig(dir, port, options),
    args: (file) => ['-D', '-f', file],
    check: (file) => ['-t', '-f', file],
  });
}
