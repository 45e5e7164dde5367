#!/usr/bin/env bash
# Command 1 of the README: set up, then run the main job on the embedded simulated bench.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
if .venv/bin/labctl loop --help >/dev/null 2>&1; then
  exec .venv/bin/labctl loop "$@"
else
  exec .venv/bin/labctl demo "$@"
fi
