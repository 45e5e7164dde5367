"""The hardware tier: ``pytest tests/hardware --bench-config FILE`` runs the ``labctl hil`` checks on that bench.

Checks run once per session (in order, stopping where the rest would be unsafe, exactly as ``labctl hil`` does);
each test reports one check. ``--allow-program`` also write-verifies the config's ``hil.test_area``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from labctl.hil import HilReport, run_hil


@pytest.fixture(scope="session")
def hil_report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> HilReport:
    path = request.config.getoption("--bench-config")
    out = Path(tmp_path_factory.mktemp("hil"))
    return asyncio.run(run_hil(path, crossbar=request.config.getoption("--hil-crossbar"),
                               allow_program=request.config.getoption("--allow-program"), out=out))
