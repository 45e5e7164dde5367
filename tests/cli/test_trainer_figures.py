"""benchmarks/trainer_figures.py: the trainer table comes from reproduce's results.json, whatever rows it has."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module() -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("trainer_figures", ROOT / "benchmarks" / "trainer_figures.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _letters(acc: float) -> dict[str, Any]:
    keys = ("train_acc", "software_acc", "crossbar_acc", "software_acc_640", "crossbar_acc_640")
    return ({k: acc for k in keys} | {"drop": 0.011, "program_sigma": 0.1}
            | {f"restarts_{k}": [acc] * 3 for k in (*keys, "train_loss")} | {f"mean_{k}": acc for k in keys})


def _full() -> dict[str, Any]:
    return {"letters_seed": _letters(0.731), "letters_seed_tempered": _letters(0.802),
            "letters_improved": _letters(0.993),
            "robustness": {"noise": [0.0] * 7, "reference": [0.981] * 7, "mat": [0.944] * 7},
            "hrat": {"float": 0.985, "offline": 0.977, "deployed": 0.9766},
            "lut": {m: [0.96, 0.97] for m in ("numeric", "standard", "multi")},
            "chip_loop": {"before": {"measured": 0.681}, "after": {"measured": 0.969},
                          "cells_to_program": {"a": 10}, "cells_total": {"a": 20}}}


def test_the_table_is_reproduce_s_own_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = _module()
    saved: dict[str, Any] = {}
    monkeypatch.setattr(mod, "save", lambda name, data, md, write_readme=False: saved.update(
        name=name, data=data, md=md, write_readme=write_readme))
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_full()))
    assert mod.main(["--results", str(path), "--write-readme"]) == 0
    md = saved["md"]
    assert saved["name"] == "trainer"
    assert saved["write_readme"] is True
    assert md.startswith("| experiment | seed's number | ours |")
    assert "98.5 % / 97.7 % / 97.7 %" in md  # the HRAT row from the file's numbers
    assert "73.1 %" in md
    assert "80.2 %" in md
    assert "68.1 % / 96.9 %" in md
    assert md.count("\n| ") == 7  # 7 rows, as many as the file has experiments
    del (full := _full())["letters_seed_tempered"]
    path.write_text(json.dumps(full))
    assert mod.main(["--results", str(path)]) == 0
    assert "80.2 %" not in saved["md"]  # a row the file does not have is not in the table


def test_partial_or_missing_results_are_not_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    mod = _module()
    monkeypatch.setattr(mod, "save", lambda *a, **k: pytest.fail("saved a partial table"))
    letters = tmp_path / "results_letters.json"
    full = _full()
    letters.write_text(json.dumps({k: full[k] for k in ("letters_seed", "letters_seed_tempered",
                                                         "letters_improved")}))
    assert mod.main(["--results", str(letters)]) == 0
    out = capsys.readouterr()
    assert "73.1 %" in out.out
    assert "not saved" in out.err
    assert mod.main(["--results", str(letters), "--write-readme"]) == 2
    assert mod.main(["--results", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err
