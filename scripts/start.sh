#!/usr/bin/env bash
# `npm start`: a one-node cluster in ./data with a demo channel (scripts/start-demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/node scripts/start-demo.ts
