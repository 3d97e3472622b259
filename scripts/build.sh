#!/usr/bin/env bash
# Bundles the ottmesh command into dist/ottmesh.mjs: one file of JavaScript, dependencies
# included (except the native LevelDB addon), so a node starts without stripping TypeScript at
# load. ssh2 stays outside too: it is loaded from node_modules only when a node installs a server
# over SSH (its optional native parts do not bundle). Whitespace and syntax are minified (names
# are kept, for readable stack traces) and legal comments go to dist/ottmesh.mjs.LEGAL.txt: the
# bundle's source stays in memory for the life of the process, and as plain ASCII V8 holds it in
# one byte per character: 3.7 MB instead of 11 MB (a few comments with non-ASCII characters made
# it a two-byte string). OTTMESH_SOURCE_MAPS=1 maps stack traces back to the sources (bin/ottmesh).
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(node -p 'require("./package.json").version')"
commit="$(node -e 'import("./node/version.ts").then((v) => console.log(v.gitCommit(".")))')"
node_modules/.bin/esbuild node/main.ts --bundle --platform=node --format=esm --target=node24 \
  --external:classic-level --external:ssh2 --sourcemap --minify-whitespace --minify-syntax --legal-comments=external --log-level=warning --outfile=dist/ottmesh.mjs \
  --define:OTTMESH_VERSION="\"$version\"" --define:OTTMESH_COMMIT="\"$commit\"" \
  --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
