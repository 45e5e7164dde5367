"""A job's bench steps at its placed lines: program, read and infer a network layer by layer, every step journalled.

The layers' :class:`~labctl.analysis.placement.Placement` says which physical rows and columns carry each logical
input and output; :class:`PlacedSteps` programs (``protocols.program``), reads (``protocols.read_map``) and runs
the network (``protocols.inference``, chained through each layer's periphery model) there. Used by the digits
chip-in-the-loop job (:mod:`labctl.jobs.digits_recovery`); the main loop's ``_BenchSteps`` does the same with
progress display.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from labctl.analysis.placement import LayerPlacement, Placement
from labctl.jobs._placed import infer_params, program_files, read_params
from labctl.jobs.protocol_run import run_protocol
from labctl.store import RunStore


class PlacedSteps:
    """Protocol runs on an open bench for layers at their placement; ``runs`` collects every run id with its
    protocol, crossbar, layer and stage; ``wall`` the seconds spent per protocol."""

    def __init__(self, bench: Any, store: RunStore, arrays: dict[str, tuple[int, int]], out: Path, *,
                 read_voltage: float, read_repeats: int, program: dict[str, Any], read_clamp: float) -> None:
        self.bench, self.store, self.arrays, self.out = bench, store, arrays, out
        self.read_voltage, self.read_repeats, self.program_params = read_voltage, read_repeats, program
        self.read_clamp = read_clamp
        self.runs: list[dict[str, Any]] = []
        self.wall: dict[str, float] = {}
        self.placement: Placement | None = None

    def layer(self, name: str) -> LayerPlacement:
        assert self.placement is not None, "the layers are placed before anything is programmed"
        return self.placement.layers[name]

    async def step(self, protocol: str, params: dict[str, Any], crossbar: str, label: str, stage: str,
                   layer: str = "") -> Any:
        """One journalled protocol run (the ``RunStep`` of :func:`labctl.jobs._placed.scan_and_place`)."""
        del label
        t0 = time.monotonic()
        res = await run_protocol(None, protocol, params, store_root=self.store.root, crossbar=crossbar,
                                 bench=self.bench)
        self.wall[protocol] = self.wall.get(protocol, 0.0) + time.monotonic() - t0
        self.runs.append({"id": res.run_id, "protocol": protocol, "crossbar": crossbar, "layer": layer,
                          "stage": stage})
        return res

    async def program(self, layer: str, targets: np.ndarray, mask: np.ndarray | None, stage: str) -> np.ndarray:
        """Write-verify the layer's targets (only ``mask`` cells when given) at its placed lines; per-cell outcome
        strings in the logical layout ('' = not programmed in this pass)."""
        files = program_files(self.layer(layer), targets, mask, self.arrays, self.out / "program", stage)
        maps = {xb: np.full(shape, "", dtype="<U9") for xb, shape in self.arrays.items()}
        for xb, path in files.items():
            params = self.program_params | {"targets": str(path), "origin": [0, 0], "read_voltage": self.read_voltage}
            res = await self.step("program", params, xb, f"program {layer} on {xb}", stage, layer)
            maps[xb] = self.store.load_map(str(res.run_id), name="program").status.astype("<U9")
        return self.layer(layer).gather(maps).astype(str)

    async def read(self, layer: str, stage: str) -> np.ndarray:
        """The layer's conductance map read under the clamp (repeats averaged), S, in the logical layout."""
        maps = {}
        for seg in self.layer(layer).segments:
            res = await self.step("read_map", read_params(seg, self.read_voltage, self.read_repeats), seg.crossbar,
                                  f"read map {layer} on {seg.crossbar}", stage, layer)
            maps[seg.crossbar] = self.store.load_map(res.run_id, name="read_map").conductance
        return self.layer(layer).gather(maps, np.float64)

    async def infer(self, peripheries: dict[str, dict[str, Any]], x: np.ndarray, stage: str) -> list[np.ndarray]:
        """The images ``x`` through the crossbars, layer by layer: row voltages from the layer's input spec (scaled
        into the read clamp), measured column currents through its periphery model, outputs on to the next layer.
        Returns every layer's outputs (the last are the logits)."""
        from labctl.train.crossbar import outputs_from_currents, row_voltages

        h = np.asarray(x, dtype=np.float64)
        outs = []
        for name, per in peripheries.items():
            v = row_voltages(h, per.get("input", {}))
            scale = min(max(float(np.max(np.abs(v))), 1e-3), self.read_clamp)
            lp = self.layer(name)
            currents = np.empty((len(v), lp.n_out))
            for seg in lp.segments:
                res = await self.step("inference", infer_params(seg, np.clip(v / scale, -1.0, 1.0), scale),
                                      seg.crossbar, f"inference {name} on {seg.crossbar}", stage, name)
                got = dict(self.store.results(res.run_id))["inference"]["currents"]
                currents[:, list(seg.outputs)] = np.asarray(got, dtype=np.float64)
            h = outputs_from_currents(currents, per)
            outs.append(h)
        return outs
