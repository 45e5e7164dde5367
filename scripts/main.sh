#!/usr/bin/env bash
# Command 1 of the README: set up, then run the main job on the embedded (realistic) simulated bench.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
if .venv/bin/labctl loop --help >/dev/null 2>&1; then
  # --force: a second ./scripts/main.sh replaces the first one's results in results/loop instead of refusing
  # (labctl loop alone refuses an output folder that holds an earlier loop, so two runs never mix)
  exec .venv/bin/labctl loop --force "$@"
else
  exec .venv/bin/labctl demo "$@"
fi
