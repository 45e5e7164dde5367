#!/usr/bin/env bash
# Command 2 of the README: set up, then run every check: lint, types, import layers, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check .
echo "== import layers (docs/architecture.md)"; lint-imports
echo "== mypy (strict)"; mypy
echo "== pytest (2 workers)"; pytest -q -n 2 "$@"
