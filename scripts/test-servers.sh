#!/usr/bin/env bash
# The real servers the end-to-end suites start (npm test's first step). Installs the Debian packages
# that are missing when it can (root and apt-get, as on CI or a fresh container); otherwise it names
# each missing program with the command that installs it, in one line each, and exits 1, so that
# `npm test` stops at once instead of failing hundreds of tests.
set -uo pipefail

# program path : Debian package (curl and wget: the download-name tests save files with the real
# clients; wrk: npm run bench; njs and mod_magnet: the links nginx and lighttpd check themselves;
# unzip and python3: the archive tests open every archive with real tools)
servers=(
  /usr/sbin/lighttpd:lighttpd
  /usr/lib/lighttpd/mod_magnet.so:lighttpd-modules-lua
  /usr/sbin/nginx:nginx
  /usr/lib/nginx/modules/ngx_http_js_module.so:libnginx-mod-http-js
  /usr/sbin/apache2:apache2
  /usr/lib/apache2/modules/mod_xsendfile.so:libapache2-mod-xsendfile
  /usr/bin/caddy:caddy
  /usr/bin/curl:curl
  /usr/bin/wget:wget
  /usr/bin/wrk:wrk
  /usr/bin/unzip:unzip
  /usr/bin/python3:python3
)

missing=()
for pair in "${servers[@]}"; do
  [ -e "${pair%%:*}" ] || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test servers: installing ${missing[*]} (apt-get)"
  # apt drops to its _apt user for downloads, which fails where /tmp is not world-writable; as root
  # it may stay root.
  apt=(apt-get -o APT::Sandbox::User=root -o Dpkg::Use-Pty=0)
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  if { "${apt[@]}" update -qq && "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    rm -f "$log"
    # Debian starts the servers it installs on their default ports; the suites start their own.
    for service in lighttpd nginx apache2 caddy; do
      command -v systemctl >/dev/null 2>&1 && systemctl stop "$service" >/dev/null 2>&1
      command -v service >/dev/null 2>&1 && service "$service" stop >/dev/null 2>&1
    done
    exit 0
  fi
  tail -n 20 "$log" >&2; rm -f "$log"
  echo "test servers: apt-get install ${missing[*]} failed" >&2
fi

for pair in "${servers[@]}"; do
  [ -e "${pair%%:*}" ] || echo "test servers: ${pair%%:*} is missing; install it with: sudo apt-get install -y ${pair#*:}" >&2
done
echo "test servers: the end-to-end suites run the real proxies; install the packages above, then run npm test again" >&2
exit 1
