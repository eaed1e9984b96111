#!/usr/bin/env bash
# Lints the protos with buf (Google AIP-friendly STANDARD rules). buf is a
# check tool from the npm registry, installed under .tools/; it is never
# needed to build or run the product.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
buf_version=1.75.0
tools=$root/.tools/buf-$buf_version
if [ ! -x "$tools/node_modules/.bin/buf" ]; then
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent "@bufbuild/buf@$buf_version" >/dev/null
fi
buf=$tools/node_modules/.bin/buf

# buf resolves imports inside its workspace, so google/type and google/rpc
# (from Debian's golang-github-gogo-googleapis-dev) are copied in beside ours.
work=$root/build/buf
rm -rf "$work"
mkdir -p "$work/deps/google"
cp -r proto "$work/proto"
cp -r /usr/share/gocode/src/github.com/gogo/googleapis/google/type \
      /usr/share/gocode/src/github.com/gogo/googleapis/google/rpc "$work/deps/google/"
find "$work" -name '*.go' -delete
cp buf.yaml "$work/buf.yaml"
cat >> "$work/buf.yaml" <<'YAML'
  - path: deps
    lint:
      ignore: [deps]
YAML
cd "$work"
"$buf" lint proto
echo "buf lint: proto/ passes"
