"""Sweeps on a real two-node Ray cluster (``ray.cluster_utils.Cluster``), run inside a loopback-only network
namespace (``unshare -rn``; Ray binds the machine's address otherwise): the cases live in ``ray_cases.py`` and
run in a child pytest inside the namespace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).with_name("ray_cases.py")
NETNS = ["unshare", "-rn", "sh", "-c"]


def _namespace_unavailable() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2) for a loopback-only network namespace"
    probe = subprocess.run([*NETNS, "ip link set lo up"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"cannot create a loopback-only network namespace (unshare -rn): {probe.stderr.strip()}"
    return None


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_ray_cases_in_a_loopback_namespace(tmp_path: Path) -> None:
    reason = _namespace_unavailable()
    if reason:
        pytest.skip(reason)
    env = os.environ | {"LABCTL_NETNS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    script = 'ip link set lo up && exec "$0" -m pytest -q -p no:xdist -p no:cacheprovider -p no:randomly "$1"'
    res = subprocess.run([*NETNS, script, sys.executable, str(CASES)], capture_output=True, text=True,
                         timeout=400, env=env, cwd=Path(__file__).parents[2])
    assert res.returncode == 0, f"ray cases failed:\n{res.stdout[-6000:]}\n{res.stderr[-3000:]}"
    assert " passed" in res.stdout, res.stdout[-2000:]
    assert "skipped" not in res.stdout, res.stdout[-2000:]
