#!/usr/bin/env bash
# Sets up and runs the whole Atlas demo on this machine:
# PostgreSQL (embedded), Temporal (dev server), a local OpenID provider,
# the worker and the web app. Ctrl-C stops everything; data stays in .atlas/.
#   ./scripts/start-demo.sh            web app on port 8000
#   ATLAS_PORT=8080 ./scripts/start-demo.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh"
exec "${ATLAS_VENV:-$ROOT/.venv}/bin/atlas" demo --port "${ATLAS_PORT:-8000}"
