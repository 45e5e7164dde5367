"""The README's letters rows render what run_letters measured (picked restart and the means)."""

from __future__ import annotations

from typing import Any

from labctl.train.reproduce import letters_rows


def _seed(train: float, soft: float) -> dict[str, Any]:
    return {"train_acc": train, "software_acc": soft, "crossbar_acc": soft - 0.01, "drop": 0.01,
            "software_acc_640": soft - 0.02, "program_sigma": 0.1, "restarts_train_acc": [train, train - 0.1],
            "mean_train_acc": train - 0.05, "mean_software_acc": soft - 0.05, "mean_crossbar_acc": soft - 0.06,
            "mean_software_acc_640": soft - 0.07}


def test_letters_rows_show_both_seed_variants_and_the_improved_network() -> None:
    improved = {"software_acc": 0.994, "crossbar_acc": 0.986, "drop": 0.008, "crossbar_acc_640": 0.975}
    rows = letters_rows({"letters_seed": _seed(0.725, 0.656), "letters_seed_tempered": _seed(0.95, 0.788),
                         "letters_improved": improved})
    assert len(rows) == 3
    assert "as written" in rows[0]
    assert "72.5 % / 65.6 % / 64.6 % / 1.0 %; 640: 63.6 %" in rows[0]
    assert "SEED_TEMPERED" in rows[1]
    assert "95.0 % / 78.8 % / 77.8 %" in rows[1]
    assert "of 2 restarts" in rows[1]
    assert "99.4 % / 98.6 % / 0.8 %" in rows[2]
    assert len(letters_rows({"letters_seed": _seed(0.7, 0.6), "letters_improved": improved})) == 2
