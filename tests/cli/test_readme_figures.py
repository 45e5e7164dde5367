"""scripts/readme_figures.py rewrites only its marked block, from the saved result, with when and where."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "readme_figures.py"


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("readme_figures", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rewrites_the_marked_block_only() -> None:
    mod = _module()
    result = {"name": "x", "markdown": "| a | b |\n|---|---|\n| 1 | 2 |",
              "machine": {"date": "2026-12-05 08:00 UTC", "cpus": 2, "load_1_5_15": [0.5, 0.4, 0.3],
                          "command": "benchmarks/bench_x.py"}}
    text = "intro\n<!-- figures:x -->\nold table\n<!-- /figures:x -->\n<!-- figures:y -->\nkeep\n<!-- /figures:y -->\n"
    new, found = mod.rewrite(text, "x", mod.block(result))
    assert found
    assert "old table" not in new
    assert "| 1 | 2 |" in new
    assert "2026-12-05 08:00 UTC" in new
    assert "load average 0.5, 0.4, 0.3" in new
    assert "benchmarks/bench_x.py" in new
    assert "<!-- figures:y -->\nkeep\n<!-- /figures:y -->" in new
    again, _ = mod.rewrite(new, "x", mod.block(result))
    assert again == new  # idempotent
    _, found = mod.rewrite(text, "z", mod.block(result))
    assert not found
