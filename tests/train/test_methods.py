"""HRAT deployment consistency, LUT tables and training, the CLI (small sizes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from labctl.cli import main
from labctl.core.errors import ConfigError
from labctl.train.datasets import load_breast_cancer, load_digits
from labctl.train.hrat import HRATMLP, hrat_accuracies, train_hrat
from labctl.train.lut import build_luts_from_csv, train_lut

torch.set_num_threads(1)
CSV = Path(__file__).resolve().parents[2] / "labctl" / "train" / "data" / "pulse_responses_synthetic.csv"


def test_hrat_deployed_matches_offline_forward() -> None:
    d = load_digits()
    m = train_hrat(HRATMLP((64, 32, 16, 10), noise=0.0), d.x_train, d.y_train, epochs=8)
    x = torch.as_tensor(d.x_test[:64])
    with torch.no_grad():
        off = m(x).numpy()
    dep = m.forward_hw(x).numpy()
    assert np.allclose(off, dep, atol=1e-4)  # eq. 9 on conductances == eqs. 10-13 in eval mode
    maps = m.target_maps()
    assert all(t.targets.min() >= m.window.g_off - 1e-15 for t in maps.values())
    acc = hrat_accuracies(m, d.x_test, d.y_test)
    assert acc["deployed"] > 0.3  # chance is 0.1


def test_hrat_bias_dac_quantized_at_deploy() -> None:
    m = HRATMLP((4, 3, 2), dac_bits=4)
    m.eval()
    for layer in m.layers:
        b = layer.deploy()["b"]
        step = layer.vdd / 2**4
        assert np.allclose(b / step, np.round(b / step))


def test_lut_tables_and_training() -> None:
    pooled, devices = build_luts_from_csv(CSV, n_bins=20)
    assert len(devices) == 8
    assert np.all(pooled.up.mean(axis=1) > 0)
    assert np.all(pooled.down.mean(axis=1) < 0)
    # soft bounds: SET steps shrink toward g_max
    assert pooled.up[0].mean() > pooled.up[-1].mean()
    ds = load_breast_cancer()
    r = train_lut(ds, pooled, devices, mode="multi", epochs=6)
    assert r.test_acc > 0.8
    with pytest.raises(ConfigError, match="mode"):
        train_lut(ds, pooled, devices, mode="bogus")


def test_cli_train_and_sync(tmp_path: Path) -> None:
    out = tmp_path / "m"
    main(["train", "mlp", "--dataset", "digits", "--epochs", "4", "--hidden", "16", "--out", str(out)])
    assert (out / "model.json").exists()
    assert (out / "targets" / "fc1.npz").exists()
    from labctl.train import load_model, load_target_maps, program_with_faults

    maps = program_with_faults(load_target_maps(out / "targets"), seed=2, run_id="r1")
    mdir = tmp_path / "maps"
    for mm in maps.values():
        mm.save(mdir / f"{mm.layer}.npz")
    main(["sync", "r1", "--model", str(out), "--maps", str(mdir), "--epochs", "2"])
    synced = out / "sync-r1"
    assert (synced / "report.json").exists()
    assert (synced / "targets" / "fc1.npz").exists()
    assert load_model(synced).kind == "crossbar-mlp"
    with np.load(synced / "targets" / "fc1.npz") as z:
        assert "mask" in z.files
