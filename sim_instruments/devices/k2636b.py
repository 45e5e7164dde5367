"""Simulated Keithley 2636B (two-channel SMU, TSP): ``smua``/``smub`` on the bench's source channels 1/2.

Scripts run on :class:`sim_instruments.tsp.TspEngine`. Per channel: ``source.func`` (``OUTPUT_DCVOLTS``;
``OUTPUT_DCAMPS`` is accepted but an output turned on in it is refused, current sourcing is not simulated),
``source.levelv/leveli/limitv/limiti/rangev/rangei/autorangev/autorangei/output/offmode``, ``measure.i/v/iv/r/p``
(optional reading buffers), ``measure.nplc/autozero/rangei/autorangei/count``, ``nvbuffer1/2``, ``reset()`` and the
trigger model basics (``trigger.source.listv/linearv``, ``trigger.source.action``, ``trigger.measure.action`` and
``trigger.measure.i/v/iv``, ``trigger.count``, ``trigger.endpulse.action``, ``trigger.initiate()``).
The instrument's own limits are enforced here (2636B: 200 V, 1.5 A DC, 0.1 A above 20 V); a setting outside
them is refused with an error in the queue and leaves the old value. Time: every host message costs
``timing.command``; ``delay(t)`` with an output on at a non-zero level is a pulse on the physics (compliance folded,
as the bench folds every SMU); a measurement holds the source for its conversion time.
"""

from __future__ import annotations

from typing import Any

from sim_instruments.bench import SimBench
from sim_instruments.devices.k2636b_channel import I_RANGES, MAX_I, MAX_V, SmuChannel, flush
from sim_instruments.tsp import TspEngine, TspError


class Sim2636B:
    idn = "Keithley Instruments Inc., Model 2636B, 4000001, 4.0.4"
    model = "2636B"
    max_volts, max_amps = MAX_V, MAX_I  # the model's limits (labctl.core.smu_limits), enforced per channel
    current_ranges = I_RANGES

    def __init__(self, bench: SimBench, name: str) -> None:
        self.bench, self.name = bench, name
        self.engine = TspEngine(idn=self.idn, model=self.model, now=bench.now, delay=self.delay, reset=self.reset)
        self.channels = [SmuChannel.shared(self, name, 1), SmuChannel.shared(self, name, 2)]
        for ch in self.channels:
            ch.declare(self.engine, ch.prefix)
        self.peers: list[SmuChannel] = []  # the SMU channels of other 2636Bs on this one's TSP-Link network
        self.engine.function("printbuffer", self._printbuffer)
        self.engine.function("waitcomplete", lambda *group: flush(self.bench))
        self.engine.function("printnumber", self._printnumber)
        self._tsplink()
        self.reset()

    def _tsplink(self) -> None:
        """``node[N]``: the bench's 707B mainframes and other 2636Bs on this instrument's TSP-Link network
        (``tsplink_node``): a mainframe's ``channel`` functions act on the same relays, a 2636B's ``smua``/``smub``
        are the same channels its own instrument drives (errors go to this instrument's queue)."""
        from sim_instruments.devices.k707b import Sim707B

        cfg = self.bench.config.instruments
        peers: dict[int, str] = {}
        if cfg[self.name].tsplink_node is not None:
            for name, inst in cfg.items():
                if inst.tsplink_node is None or name == self.name:
                    continue
                table = f"tsplink_node{inst.tsplink_node}"
                if inst.driver == "keithley_707b":
                    Sim707B(self.bench, name).declare(self.engine, prefix=f"{table}.channel")
                elif inst.driver == "keithley_2600b":
                    for ch in (1, 2):
                        peer = SmuChannel.shared(self, name, ch)
                        peer.declare(self.engine, f"{table}.{peer.prefix}")
                        self.peers.append(peer)
                else:
                    continue
                peers[inst.tsplink_node] = table
        self.engine.items("node", lambda n: self.engine.lua.globals[peers[n]] if n in peers else None)

    @property
    def line_frequency(self) -> float:
        return float(self.engine.lua.globals.localnode.linefreq or 50)

    def reset(self) -> None:
        for ch in self.channels:
            ch.reset()

    def delay(self, seconds: float) -> None:
        """Time passes with the sources as they are: a pulse where this instrument or a TSP-Link peer drives a
        non-zero level."""
        flush(self.bench)
        chans = [*self.channels, *self.peers]
        levels = {ch.key: ch.src.level for ch in chans if ch.src.on and ch.src.level != 0.0}
        if levels and seconds > 0:
            currents = self.bench.pulse(levels, seconds)
            for ch in chans:
                if ch.key in currents:
                    ch.last_pulse_current = currents[ch.key]
        else:
            self.bench.advance(seconds)

    def _printbuffer(self, start: Any, end: Any, *buffers: Any) -> None:
        if not buffers:
            raise TspError(-286, "printbuffer needs at least one buffer", abort=True)
        lo, hi = int(start), int(end)
        values = []
        for i in range(lo, hi + 1):
            for buf in buffers:
                v = buf[i]
                if v is None:
                    raise TspError(-286, f"printbuffer: index {i} out of range", abort=True)
                values.append(self.engine.format_value(v))
        self.engine.emit(", ".join(values))

    def _printnumber(self, *values: Any) -> None:
        self.engine.emit(", ".join(self.engine.format_value(float(v)) for v in values))

    def handle(self, message: str) -> str | None:
        self.bench.advance(self.bench.timing.command)
        try:
            return self.engine.handle(message)
        finally:
            flush(self.bench)  # an overlapped measurement left running completes with the message
