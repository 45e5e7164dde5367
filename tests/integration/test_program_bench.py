"""Programming, map reads and inference through the real stack of the default simulated bench:
protocols -> BenchCrossbar -> drivers -> pyvisa-py -> loopback TCP -> SCPI simulators -> physics -> journal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labctl.analysis import max_read_volts, program_stats
from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.core import ConfigError
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore

# Tolerance stated by the protocol defaults: |G - target| <= 1 uS + 3 % of the target.
ABS_TOL, REL_TOL = 1e-6, 0.03


async def test_program_8x8_four_levels_then_clamped_map_and_inference(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    async with open_bench(DEFAULT_CONFIG) as bench:
        assert bench.simulation is not None
        assert bench.simulation.server is not None
        phys = bench.simulation.crossbars["xbar0"]
        res = await run_protocol(None, "program", {"random_levels": 4, "shape": [8, 8], "origin": [3, 5], "seed": 7},
                                 store_root=tmp_path, bench=bench)
        assert res.status == "completed"
        assert res.run_id is not None
        st = program_stats(store.event_arrays(res.run_id), store.outcomes(res.run_id).values())
        assert st.cells == 64
        assert st.converged_fraction >= 0.995
        outs = store.outcomes(res.run_id)
        assert {(r - 3, c - 5) for r, c in outs} == {(i, j) for i in range(8) for j in range(8)}
        targets = np.array([o.target for o in outs.values()])
        assert len(np.unique(np.round(targets, 12))) == 4
        for o in outs.values():
            if str(o.status) == "converged":
                assert abs(o.conductance - o.target) <= ABS_TOL + REL_TOL * o.target
        # the verify reads never exceeded the read voltage; the pulses did reach the cells
        assert float(phys.peak_pulse_voltage[3:11, 5:13].min()) >= 1.0

        # read-only protocols: reset the simulator's record, then read at the clamp itself
        clamp = bench.config.limits.read_clamp
        phys.reset_peaks()
        rm = await run_protocol(None, "read_map", {"read_voltage": clamp, "repeats": 2, "region": [3, 11, 5, 13]},
                                store_root=tmp_path, bench=bench)
        x = [[1.0, -1.0, 0.5, 0.25, -0.75, 0.0, 1.0, -0.5]]
        inf = await run_protocol(None, "inference", {"inputs": x, "input_volts": clamp, "row0": 3,
                                                     "cols": [5, 6, 7, 8], "pairs": None},
                                 store_root=tmp_path, bench=bench)
        assert float(phys.peak_pulse_voltage.max()) == 0.0  # nothing but reads happened
        sim_peak = float(phys.peak_read_voltage.max())
        assert clamp - 1e-9 <= sim_peak <= clamp + 1e-12  # reached the clamp, never beyond (simulator's record)
        with pytest.raises(ConfigError, match="read_voltage"):
            await run_protocol(None, "read_map", {"read_voltage": clamp * 1.1}, store_root=tmp_path, bench=bench)
        assert float(phys.peak_read_voltage.max()) == sim_peak
    for rid in (rm.run_id, inf.run_id):
        assert rid is not None
        journal_peak = max_read_volts(store.event_arrays(rid), store.inferences(rid))
        assert 0 < journal_peak <= clamp + 1e-12  # the journal's record
    m = store.load_map(str(rm.run_id))
    g = np.asarray(m.conductance)[3:11, 5:13]
    t = np.array([[outs[(r, c)].target for c in range(5, 13)] for r in range(3, 11)])
    # chord conductance at 0.3 V is above the 0.1 V value (sinh I-V): the map keeps the target order
    assert np.corrcoef(np.log(g.ravel()), np.log(t.ravel()))[0, 1] > 0.9
    assert len(store.list_runs()) == 3  # the refused read left nothing behind
