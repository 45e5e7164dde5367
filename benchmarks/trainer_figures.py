"""The README's trainer results table, from what ``labctl.train.reproduce`` wrote (never typed by hand).

    .venv/bin/python -m labctl.train.reproduce --out results/train          # about 6 min on 2 cores
    .venv/bin/python benchmarks/trainer_figures.py [--results results/train/results.json] [--write-readme]

The rows are ``labctl.train.reproduce.table`` of the saved ``results.json``, so they follow whatever experiments
reproduce ran and however it words them. Saves ``benchmarks/results/trainer.json``; ``--write-readme`` rewrites
the README's ``<!-- figures:trainer -->`` block. A letters-only file (``reproduce --only letters`` writes
``results_letters.json``) prints its rows but cannot replace the whole table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import save

from labctl.train.reproduce import letters_rows, table

FULL = ("letters_seed", "robustness", "hrat", "lut", "chip_loop")


def markdown(results: dict[str, Any], source: Path) -> str:
    """The table and one line naming the run it came from."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(source.stat().st_mtime))
    return f"{table(results).rstrip()}\n\nFrom `{source.as_posix()}` written {when} by `labctl.train.reproduce`."


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=Path("results/train/results.json"))
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args(argv)
    if not args.results.is_file():
        print(f"error: --results {args.results}: no such file; run `.venv/bin/python -m labctl.train.reproduce "
              "--out results/train` first", file=sys.stderr)
        return 2
    results = json.loads(args.results.read_text())
    missing = [k for k in FULL if k not in results]
    if missing:
        if "letters_seed" not in results:
            print(f"error: --results {args.results}: not a reproduce results file (no letters_seed)", file=sys.stderr)
            return 2
        print("\n".join(letters_rows(results)))
        print(f"--results {args.results} has only part of the table (missing {', '.join(missing)}): printed, "
              "not saved", file=sys.stderr)
        return 2 if args.write_readme else 0
    md = markdown(results, args.results)
    print(md)
    save("trainer", results, md, write_readme=args.write_readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
