#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install labctl with its dev tools, pinned by constraints.txt.
# Idempotent: re-runs only when pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "labctl needs Python >= 3.11")'
  "$PY" -m venv .venv
fi
stamp=.venv/.labctl-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setting up .venv (first run takes a few minutes)..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]" >&2
  # the IR-drop test oracle (pyproject's `oracle` extra) without pycairo, which only its plotting needs
  .venv/bin/python -m pip install --quiet --no-deps "badcrossbar==1.1.0" >&2
  echo "$want" > "$stamp"
fi
