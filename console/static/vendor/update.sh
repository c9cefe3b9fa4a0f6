#!/usr/bin/env bash
# Brings the vendored JavaScript and CSS anew from the npm registry (`npm pack`), each
# package's minified dist files with its licence, and rewrites SHA256SUMS, which
# tests/console/test_vendored.py holds every file against. Run it by hand to upgrade;
# nothing at build or run time fetches anything.
set -euo pipefail
cd "$(dirname "$0")"
HTMX=htmx.org@2.0.11 ECHARTS=echarts@6.1.0 SWAGGER=swagger-ui-dist@5.35.0 REDOC=redoc@2.5.4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unpack() {  # unpack PACKAGE@VERSION -> folder holding its package/
    mkdir -p "$work/$1" && (cd "$work/$1" && npm pack --silent "$1" >/dev/null && tar xzf ./*.tgz)
    echo "$work/$1/package"
}
take() {  # take FOLDER FROM FILE...
    local into=$1 from=$2; shift 2
    rm -rf "$into" && mkdir -p "$into"
    for f in "$@"; do cp "$from/$f" "$into/"; done
}
p=$(unpack $HTMX); take htmx "$p" dist/htmx.min.js LICENSE
p=$(unpack $ECHARTS); take echarts "$p" dist/echarts.min.js LICENSE NOTICE
p=$(unpack $SWAGGER); take swagger-ui "$p" swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt \
    swagger-ui.css favicon-32x32.png LICENSE NOTICE
p=$(unpack $REDOC); take redoc "$p" bundles/redoc.standalone.js \
    bundles/redoc.standalone.js.LICENSE.txt LICENSE
printf '%s\n' "$HTMX" "$ECHARTS" "$SWAGGER" "$REDOC" > VERSIONS
find . -type f ! -name SHA256SUMS ! -name update.sh -printf '%P\n' | LC_ALL=C sort \
    | xargs sha256sum > SHA256SUMS
