#!/usr/bin/env bash
# Installs what ottmesh needs on a fresh Debian machine: system packages (ffmpeg, chromium) where
# missing and we are root, then npm packages from the lockfile (which pin their own Node LTS).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}: install them with your package manager (Debian/Ubuntu: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

# Used by some tests and features, not required to run a node: Debian's sshd (the test that
# installs a worker over SSH into a network namespace) and arping (the leader announces a
# floating address with gratuitous ARP). Installed when we are root; otherwise those tests skip.
extras=()
[ -x /usr/sbin/sshd ] || extras+=(openssh-server)
command -v arping >/dev/null 2>&1 || extras+=(iputils-arping)
if [ ${#extras[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${extras[*]} with apt-get"
    [ ${#missing[@]} -gt 0 ] || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${extras[@]}" >/dev/null
  else
    echo "setup: optional ${extras[*]} missing: the SSH-install and floating-address tests will skip (Debian/Ubuntu: sudo apt-get install -y ${extras[*]})" >&2
  fi
fi

command -v npm >/dev/null 2>&1 || { echo "setup: npm is missing: install Node.js and npm (any version; the project pins its own Node 24 from npm)" >&2; exit 1; }
# npm ci is exact and clean; node_modules/.bin/node (Node 24 from the npm package `node`) then runs every npm script.
npm ci --no-audit --no-fund
# The bundle that bin/ottmesh runs (scripts/build.sh).
npm run build --silent
