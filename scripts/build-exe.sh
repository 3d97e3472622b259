#!/usr/bin/env bash
# npm run build:exe: writes dist/ottmesh, one self-contained executable for linux-x64 (a Node
# single executable application): the project's pinned Node binary (stripped of debug symbols)
# with the bundled code, the classic-level addon and the dashboard files injected. The target
# needs no Node and no node_modules. See docs/executable.md.
#   OTTMESH_BUILD_VERSION=V  version to bake in instead of package.json's (tests build a "next" one)
#   OUT=PATH                 where to write it instead of dist/ottmesh
# The file appears at OUT only complete and checked (built beside it, then renamed over it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${OUT:-$root/dist/ottmesh}")" # a relative OUT is relative to where this runs
cd "$root"
node="$root/node_modules/node/bin/node"
fuse=NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2
fail() { echo "build-exe: $*" >&2; exit 1; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || fail "builds for linux-x64 only; this machine is $(uname -s)-$(uname -m)"
[ -x "$node" ] || fail "$node is missing: run scripts/setup.sh (npm install) first"
grep -qa "$fuse" "$node" || fail "$node does not support single executables (no SEA fuse)"

version="${OTTMESH_BUILD_VERSION:-$("$node" -p 'require("./package.json").version')}"
[[ "$version" =~ ^[0-9A-Za-z][0-9A-Za-z.+-]*$ ]] || fail "OTTMESH_BUILD_VERSION='$version' must be a version like 0.1.0 or 0.1.0-test2"
commit="$("$node" -e 'import("./node/version.ts").then((v) => console.log(v.gitCommit(".")))')"
mkdir -p "$(dirname "$out")"

started=$SECONDS
# Built next to OUT (same filesystem) so the final rename is atomic.
work="$(mktemp -d "$(dirname "$out")/.ottmesh-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$node" scripts/sea/bundle.ts --out-dir "$work" --version "$version" --commit "$commit"
"$node" --experimental-sea-config "$work/sea-config.json" >"$work/sea.log" 2>&1 || { cat "$work/sea.log" >&2; fail "node --experimental-sea-config failed"; }
cp "$node" "$work/ottmesh"
chmod u+w "$work/ottmesh"
# The official binary carries about 18 MB of debug symbols; addons need only the dynamic symbols,
# which strip keeps.
if command -v strip >/dev/null; then strip "$work/ottmesh"; else echo "build-exe: no strip (binutils): the executable keeps Node's debug symbols" >&2; fi
"$node" node_modules/postject/dist/cli.js "$work/ottmesh" NODE_SEA_BLOB "$work/sea-prep.blob" --sentinel-fuse "$fuse" >"$work/postject.log" 2>&1 ||
  { cat "$work/postject.log" >&2; fail "postject failed"; }
chmod 755 "$work/ottmesh"

expected="ottmesh $version (commit $commit)"
got="$(env -i "$work/ottmesh" --version 2>&1)" || fail "the built executable does not run: $got"
[ "$got" = "$expected" ] || fail "the built executable prints '$got' for --version, expected '$expected'"

mv -f "$work/ottmesh" "$out"
echo "build-exe: wrote $out: $expected, $(( $(stat -c %s "$out") / 1048576 )) MB, in $(( SECONDS - started )) s"
