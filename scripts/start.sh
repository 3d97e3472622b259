#!/usr/bin/env bash
# `npm start`: a one-node cluster in ./data (created on the first run, started again after),
# API on http://127.0.0.1:8080. OTTMESH_DATA_DIR, OTTMESH_HTTP_PORT and OTTMESH_P2P_PORT override.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${OTTMESH_DATA_DIR:-data}"
if [ -f "$dir/config.json" ]; then
  exec bin/ottmesh start --data-dir "$dir"
fi
exec bin/ottmesh init --data-dir "$dir" --name "$(hostname -s 2>/dev/null || echo node1)" \
  --http-port "${OTTMESH_HTTP_PORT:-8080}" --p2p-port "${OTTMESH_P2P_PORT:-7600}"
