#!/usr/bin/env bash
# Runs the sample app behind a real lighttpd: http://127.0.0.1:8080/lighttpd/optimized-by-middleware
# (needs lighttpd: apt-get install -y lighttpd). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
media="$(pwd)/sample/media"
conf="$(mktemp --suffix=.conf)"
sed "s#/ABSOLUTE/PATH/TO/sample/media/#${media}/#" sample/lighttpd.conf > "$conf"
npm run build >/dev/null && npx tsc -p tsconfig.sample.json
node .sample-build/sample/main.js & app=$!
trap 'kill $app 2>/dev/null; rm -f "$conf"' EXIT
lighttpd -D -f "$conf"
