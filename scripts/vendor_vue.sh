#!/usr/bin/env bash
# Rebuilds static/vendor/vue/ from the npm package: the browser ES module build (with the template
# compiler) and its licence. The result is committed, so running the dashboard needs no Node.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=3.5.45
# npm's dist.integrity of vue@3.5.45: the tarball is refused unless it matches.
INTEGRITY="sha512-3cvsib8m9c0vB24+MDKsgcW4+Da4xaBl9Z/5Tbm2pmSIsRPxcil4cdXjXlVsmJ2g64XJo5h+IRd7rsdGT9pZaw=="
DEST=static/vendor/vue

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "vue@$VERSION" >/dev/null)
tarball="$work/vue-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | openssl base64 -A)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "vendor_vue: integrity mismatch for vue@$VERSION: got $actual" >&2
  exit 1
fi

tar -xzf "$tarball" -C "$work" package/dist/vue.esm-browser.prod.js package/LICENSE
mkdir -p "$DEST"
cp "$work/package/dist/vue.esm-browser.prod.js" "$work/package/LICENSE" "$DEST/"
echo "vendor_vue: vue@$VERSION in $DEST/"
