"""One source-measure channel of the simulated 2636B (``smua`` or ``smub``): its settings, limits, measurements,
reading buffers and trigger-model basics, declared on the TSP engine."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim_instruments.tsp import TspEngine, TspError

if TYPE_CHECKING:
    from sim_instruments.bench import SimBench
    from sim_instruments.devices.k2636b import Sim2636B

OVERFLOW = 9.91e37
"""The reading a 2600B returns above its fixed measure range."""
V_RANGES = (0.2, 2.0, 20.0, 200.0)
I_RANGES = (1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1.5)
MAX_V, MAX_I, HIGH_V, HIGH_V_MAX_I = 200.0, 1.5, 20.0, 0.1
"""2636B DC limits: 200 V, 1.5 A up to 20 V, 0.1 A above."""
RESOLUTION = 1e-6  # of the measure range (6.5 digits)
DCAMPS, DCVOLTS = 0, 1
OFF, ON, HIGH_Z = 0, 1, 2
AZ_OFF, AZ_ONCE, AZ_AUTO = 0, 1, 2
SOURCE_IDLE, SOURCE_HOLD = 0, 1
DISABLE, ENABLE = 0, 1


def _num(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
        raise TspError(-222, f"Parameter data out of range: {what} = {v!r}; a number is required")
    return float(v)


def _range_for(value: float, ranges: tuple[float, ...], what: str) -> float:
    for r in ranges:
        if abs(value) <= r * 1.01:
            return r
    raise TspError(-222, f"Parameter data out of range: {what} = {value:g}; allowed up to {ranges[-1]:g}")


def _indexer(buf: Buffer, name: str, sync: Callable[[Buffer], None]) -> Any:
    """``buf.<name>[i]`` (1-based; nil outside), reading the buffer's present list (after ``sync``)."""
    attr = {"readings": "readings", "sourcevalues": "sources", "timestamps": "times"}[name]

    def get(i: int) -> float | None:
        sync(buf)
        data: list[float] = getattr(buf, attr)
        return data[i - 1] if 1 <= i <= len(data) else None

    return get


def flush(bench: SimBench, buffer: Buffer | None = None) -> None:
    """Run the bench's pending overlapped measurements: one conversion of every pending channel at once (held for
    the longest of their conversion times), each reading stored in its buffers. With ``buffer``: only when one of
    them is to store into it (a script reading a buffer waits for its results, not for other buffers')."""
    if buffer is not None and not any(buffer is b for _, _, bufs in bench.tsp_pending for b in bufs):
        return
    pending, bench.tsp_pending = bench.tsp_pending, []
    if not pending:
        return
    keys = list(dict.fromkeys(ch.key for ch, _, _ in pending))
    amps = bench.measure_many(keys, max(ch.hold() for ch, _, _ in pending))
    for ch, what, bufs in pending:
        ch.store(what, amps[ch.key], bufs)


class Buffer:
    """A reading buffer (``nvbuffer1``/``nvbuffer2``): ``n``, ``[i]``, ``readings``, ``sourcevalues``,
    ``timestamps``, ``clear()``."""

    def __init__(self) -> None:
        self.readings: list[float] = []
        self.sources: list[float] = []
        self.times: list[float] = []

    def clear(self) -> None:
        self.readings, self.sources, self.times = [], [], []

    def add(self, value: float, source: float, t: float) -> None:
        self.readings.append(value)
        self.sources.append(source)
        self.times.append(t)

    def declare(self, engine: TspEngine, path: str, registry: dict[str, Buffer],
                sync: Callable[[Buffer], None]) -> None:
        """Declare the buffer as ``path`` on ``engine``; ``registry`` finds it by its token (``__path``), which
        names this buffer alone whatever path an engine reaches it by (``smua.nvbuffer1``, ``node[4].smua...``).
        Reading it first completes the overlapped measurements still running (``sync``): a script that reads a
        result not yet made waits for it, as the manual describes."""
        token = f"buffer{id(self)}"
        registry[token] = self
        def count() -> int:
            sync(self)
            return len(self.readings)

        def clear() -> None:
            sync(self)
            self.clear()

        engine.attribute(f"{path}.n", count)
        engine.attribute(f"{path}.__path", lambda: token)
        engine.function(f"{path}.clear", clear)
        engine.items(path, _indexer(self, "readings", sync))
        for name in ("readings", "sourcevalues", "timestamps"):
            engine.items(f"{path}.{name}", _indexer(self, name, sync))
        for name in ("appendmode", "collecttimestamps", "collectsourcevalues", "fillmode", "timestampresolution"):
            engine.setting(f"{path}.{name}", 0)


class SmuChannel:
    """``smua`` (bench channel 1) or ``smub`` (channel 2). One object per physical channel (:meth:`shared`): its own
    instrument and the TSP-Link peers that reach it as ``node[N].smua`` act on the same settings."""

    @classmethod
    def shared(cls, dev: Sim2636B, name: str, channel: int) -> SmuChannel:
        """The channel ``channel`` of the bench's 2636B ``name``, made on first use (by ``dev``, its instrument or
        a peer on the same TSP-Link network)."""
        registry = dev.bench.tsp_channels
        key = (name, channel)
        if key not in registry:
            registry[key] = cls(dev, "smua" if channel == 1 else "smub", channel, name)
        ch: SmuChannel = registry[key]
        return ch

    def __init__(self, dev: Sim2636B, prefix: str, channel: int, name: str | None = None) -> None:
        self.dev, self.prefix, self.key = dev, prefix, (name or dev.name, channel)
        self.src = dev.bench.sources[self.key]
        self.buffers: dict[str, Buffer] = {}
        self.nvbuffer1, self.nvbuffer2 = Buffer(), Buffer()
        self.last_pulse_current = 0.0
        self.reset()

    def reset(self) -> None:
        self.func = DCVOLTS
        self.levelv, self.leveli, self.limitv, self.limiti = 0.0, 0.0, 20.0, 0.1
        self.rangev, self.rangei, self.autorangev, self.autorangei = 0.2, 1e-7, 1, 1
        self.meas_rangei, self.meas_autorangei, self.meas_rangev, self.meas_autorangev = 1e-7, 1, 0.2, 1
        self.nplc, self.autozero, self.count, self.offmode = 1.0, AZ_AUTO, 1, 0
        self.trig_list: list[float] = []
        self.trig_source_action, self.trig_measure_action, self.trig_count = DISABLE, DISABLE, 1
        self.trig_endpulse = SOURCE_HOLD
        self.trig_measure: tuple[str, list[Any]] = ("i", [])
        self.nvbuffer1.clear()
        self.nvbuffer2.clear()
        self.src.on, self.src.level, self.src.limit, self.src.tripped = False, 0.0, self.limiti, False

    # --- settings ---------------------------------------------------------------------------------------
    def _set_levelv(self, v: Any) -> None:
        flush(self.dev.bench)
        volts = _num(v, f"{self.prefix}.source.levelv")
        rng = _range_for(volts, V_RANGES, f"{self.prefix}.source.levelv")
        if not self.autorangev and abs(volts) > self.rangev * 1.01:
            raise TspError(-222, f"Parameter data out of range: {self.prefix}.source.levelv = {volts:g} V is above "
                                 f"the fixed {self.rangev:g} V range")
        if abs(volts) > HIGH_V and self.limiti > HIGH_V_MAX_I:
            raise TspError(5007, f"Operation would exceed safe operating area of the instrument: "
                                 f"{self.prefix}.source.levelv = {volts:g} V with limiti {self.limiti:g} A "
                                 f"(above {HIGH_V:g} V at most {HIGH_V_MAX_I:g} A)")
        if self.autorangev:
            self.rangev = rng
        self.levelv = volts
        if self.func == DCVOLTS:
            self.src.level = volts

    def _set_limiti(self, v: Any) -> None:
        amps = _num(v, f"{self.prefix}.source.limiti")
        if not 1e-10 <= amps <= MAX_I:
            raise TspError(-222, f"Parameter data out of range: {self.prefix}.source.limiti = {amps:g} A; "
                                 f"allowed [1e-10, {MAX_I:g}] A")
        if amps > HIGH_V_MAX_I and abs(self.levelv) > HIGH_V:
            raise TspError(5007, f"Operation would exceed safe operating area of the instrument: "
                                 f"{self.prefix}.source.limiti = {amps:g} A at {self.levelv:g} V")
        self.limiti = amps
        self.src.limit = amps

    def _set_output(self, v: Any) -> None:
        flush(self.dev.bench)
        state = int(_num(v, f"{self.prefix}.source.output"))
        if state not in (OFF, ON, HIGH_Z):
            raise TspError(-222, f"Parameter data out of range: {self.prefix}.source.output = {state}")
        if state == ON and self.func == DCAMPS:
            raise TspError(-221, f"Settings conflict: {self.prefix}.OUTPUT_DCAMPS (current sourcing) is not "
                                 "simulated; use OUTPUT_DCVOLTS")
        self.src.on = state == ON
        if not self.src.on:
            self.src.tripped = False
        self.src.level = self.levelv if self.func == DCVOLTS else 0.0

    def _set_func(self, v: Any) -> None:
        f = int(_num(v, f"{self.prefix}.source.func"))
        if f not in (DCAMPS, DCVOLTS):
            raise TspError(-222, f"Parameter data out of range: {self.prefix}.source.func = {f}")
        self.func = f

    def _setter(self, attr: str, *, low: float | None = None, high: float | None = None,
                choices: tuple[float, ...] | None = None, field: str | None = None) -> Any:
        def set_(v: Any) -> None:
            x = _num(v, f"{self.prefix}.{attr}")
            if (low is not None and x < low) or (high is not None and x > high) or (choices and x not in choices):
                allowed = f"one of {choices}" if choices else f"[{low:g}, {high:g}]"
                raise TspError(-222, f"Parameter data out of range: {self.prefix}.{attr} = {x:g}; allowed {allowed}")
            setattr(self, field or attr.rsplit(".", 1)[-1], x)

        return set_

    # --- measurement ------------------------------------------------------------------------------------
    def conversion_time(self) -> float:
        t = self.nplc / self.dev.line_frequency
        return t * 3 if self.autozero == AZ_AUTO else t

    def hold(self) -> float:
        """How long a measurement holds the source: its conversion time, at least the bench's read duration."""
        return max(self.conversion_time(), self.dev.bench.timing.read_duration)

    def _current(self) -> float:
        flush(self.dev.bench)
        return self._scaled(self.dev.bench.measure(self.key, self.hold()))

    def _scaled(self, amps: float) -> float:
        """A current as the instrument reports it: on its (auto) range, overflow above it, at its resolution."""
        rng = self.meas_rangei
        if self.meas_autorangei:
            rng = next((r for r in I_RANGES if abs(amps) <= r * 1.05), I_RANGES[-1])
            self.meas_rangei = rng
        if abs(amps) > rng * 1.05:
            return OVERFLOW
        step = rng * RESOLUTION
        return round(amps / step) * step

    def _voltage(self) -> float:
        return self.src.level if self.src.on else 0.0

    def _store(self, buf: Any, value: float) -> None:
        if buf is None:
            return
        self._buffer(buf).add(value, self._voltage(), self.dev.bench.now())

    def _buffer(self, buf: Any) -> Buffer:
        """The reading buffer a script passed (``smua.nvbuffer1``, ``node[4].smub.nvbuffer2``)."""
        path = buf["__path"] if not isinstance(buf, int | float | str | bool) else None
        target = self.dev_buffers().get(str(path))
        if target is None:
            raise TspError(-286, f"{self.prefix}.measure: argument is not a reading buffer", abort=True)
        return target

    def dev_buffers(self) -> dict[str, Buffer]:
        """Every reading buffer of the bench's TSP channels, by its token."""
        out: dict[str, Buffer] = {}
        for ch in self.dev.bench.tsp_channels.values():
            out.update(ch.buffers)
        return out

    def measure(self, what: str, *bufs: Any) -> Any:
        values: list[float] = []
        for _ in range(max(1, int(self.count))):
            i = self._current()
            v = self._voltage()
            value = {"i": [i], "v": [v], "iv": [i, v], "r": [v / i if i else OVERFLOW], "p": [v * i]}[what]
            for buf, x in zip(bufs, value, strict=False):
                self._store(buf, x)
            values = value
        return values[0] if len(values) == 1 else tuple(values)

    def overlapped(self, what: str, *bufs: Any) -> None:
        """``measure.overlappedi/v/iv(buffer)``: starts a measurement and returns at once; measurements started
        together convert together (one conversion of every pending channel) when the script next waits
        (``waitcomplete``), delays, measures or changes a source."""
        if not bufs:
            raise TspError(-286, f"{self.prefix}.measure.overlapped{what}: a reading buffer is required", abort=True)
        self.dev.bench.tsp_pending.append((self, what, [self._buffer(b) for b in bufs if b is not None]))

    def store(self, what: str, amps: float, bufs: list[Buffer]) -> None:
        """Store an overlapped reading (``amps`` from the bench) as :meth:`measure` stores one."""
        i = self._scaled(amps)
        v = self._voltage()
        value = {"i": [i], "v": [v], "iv": [i, v]}[what]
        for buf, x in zip(bufs, value, strict=False):
            buf.add(x, v, self.dev.bench.now())

    # --- trigger model basics ---------------------------------------------------------------------------
    def _listv(self, values: Any) -> None:
        items = [values[k] for k in range(1, 100001) if values[k] is not None] if values is not None else []
        if not items:
            raise TspError(-222, f"Parameter data out of range: {self.prefix}.trigger.source.listv needs values")
        for x in items:
            _range_for(_num(x, f"{self.prefix}.trigger.source.listv"), V_RANGES, "listv")
        self.trig_list = [float(x) for x in items]

    def _linearv(self, start: Any, stop: Any, points: Any) -> None:
        a, b, n = _num(start, "start"), _num(stop, "stop"), int(_num(points, "points"))
        if n < 1:
            raise TspError(-222, f"Parameter data out of range: points = {n}; allowed >= 1")
        for x in (a, b):
            _range_for(x, V_RANGES, f"{self.prefix}.trigger.source.linearv")
        self.trig_list = [a + (b - a) * k / max(n - 1, 1) for k in range(n)]

    def _trig_measure(self, what: str) -> Any:
        def set_(*bufs: Any) -> None:
            self.trig_measure = (what, list(bufs))

        return set_

    def _initiate(self) -> None:
        """Run the sweep: per point the source level (when enabled), a measurement (when enabled), then the
        level is kept (``SOURCE_HOLD``) or returns to ``levelv`` (``SOURCE_IDLE``)."""
        points = self.trig_list if self.trig_source_action == ENABLE else []
        count = int(self.trig_count) if self.trig_count > 0 else max(len(points), 1)
        for k in range(count):
            if points:
                self.src.level = points[k % len(points)]
            if self.trig_measure_action == ENABLE:
                what, bufs = self.trig_measure
                self.measure(what, *bufs)
            if self.trig_endpulse == SOURCE_IDLE:
                self.src.level = self.levelv
        if self.trig_endpulse == SOURCE_IDLE or not points:
            self.src.level = self.levelv

    # --- TSP declarations -------------------------------------------------------------------------------
    def declare(self, e: TspEngine, prefix: str | None = None) -> None:
        """Declare the channel on ``e`` as ``prefix`` (its own name, or ``tsplink_nodeN.smua`` on a peer)."""
        p = prefix or self.prefix
        for name, v in (("OUTPUT_DCAMPS", DCAMPS), ("OUTPUT_DCVOLTS", DCVOLTS), ("OUTPUT_OFF", OFF),
                        ("OUTPUT_ON", ON), ("OUTPUT_HIGH_Z", HIGH_Z), ("AUTOZERO_OFF", AZ_OFF),
                        ("AUTOZERO_ONCE", AZ_ONCE), ("AUTOZERO_AUTO", AZ_AUTO), ("AUTORANGE_OFF", 0),
                        ("AUTORANGE_ON", 1), ("AUTORANGE_FOLLOW_LIMIT", 2), ("OUTPUT_NORMAL", 0),
                        ("OUTPUT_ZERO", 2), ("SOURCE_IDLE", SOURCE_IDLE), ("SOURCE_HOLD", SOURCE_HOLD),
                        ("DISABLE", DISABLE), ("ENABLE", ENABLE), ("SENSE_LOCAL", 0), ("SENSE_REMOTE", 1),
                        ("SENSE_CALA", 3)):
            e.value(f"{p}.{name}", v)
        e.attribute(f"{p}.source.levelv", lambda: self.levelv, self._set_levelv)
        e.attribute(f"{p}.source.limiti", lambda: self.limiti, self._set_limiti)
        e.attribute(f"{p}.source.output", lambda: int(self.src.on), self._set_output)
        e.attribute(f"{p}.source.func", lambda: self.func, self._set_func)
        e.attribute(f"{p}.source.leveli", lambda: self.leveli, self._setter("source.leveli", low=-1.5, high=1.5))
        e.attribute(f"{p}.source.limitv", lambda: self.limitv, self._setter("source.limitv", low=0.02, high=MAX_V))
        e.attribute(f"{p}.source.rangev", lambda: self.rangev, self._set_rangev)
        e.attribute(f"{p}.source.rangei", lambda: self.rangei, self._setter("source.rangei", low=1e-9, high=MAX_I))
        e.attribute(f"{p}.source.autorangev", lambda: self.autorangev,
                    self._setter("source.autorangev", choices=(0, 1)))
        e.attribute(f"{p}.source.autorangei", lambda: self.autorangei,
                    self._setter("source.autorangei", choices=(0, 1)))
        e.attribute(f"{p}.source.offmode", lambda: self.offmode, self._setter("source.offmode", choices=(0, 1, 2)))
        e.attribute(f"{p}.source.compliance", lambda: "true" if self.src.tripped else "false")
        e.attribute(f"{p}.source.settling", lambda: 0, lambda v: None)
        e.attribute(f"{p}.source.delay", lambda: 0, lambda v: None)
        e.attribute(f"{p}.source.sink", lambda: 0, lambda v: None)
        e.attribute(f"{p}.sense", lambda: 0, self._setter("sense", choices=(0, 1, 3)))
        e.attribute(f"{p}.measure.nplc", lambda: self.nplc, self._setter("measure.nplc", low=0.001, high=25))
        e.attribute(f"{p}.measure.autozero", lambda: self.autozero,
                    self._setter("measure.autozero", choices=(0, 1, 2)))
        e.attribute(f"{p}.measure.count", lambda: self.count, self._setter("measure.count", low=1, high=60000))
        e.attribute(f"{p}.measure.rangei", lambda: self.meas_rangei, self._set_meas_rangei)
        e.attribute(f"{p}.measure.autorangei", lambda: self.meas_autorangei,
                    self._setter("measure.autorangei", choices=(0, 1, 2), field="meas_autorangei"))
        e.attribute(f"{p}.measure.rangev", lambda: self.meas_rangev, self._setter("measure.rangev", low=0, high=200,
                                                                                  field="meas_rangev"))
        e.attribute(f"{p}.measure.autorangev", lambda: self.meas_autorangev,
                    self._setter("measure.autorangev", choices=(0, 1), field="meas_autorangev"))
        e.attribute(f"{p}.measure.delay", lambda: 0, lambda v: None)
        e.attribute(f"{p}.measure.filter.enable", lambda: 0, lambda v: None)
        for what in ("i", "v", "iv", "r", "p"):
            e.function(f"{p}.measure.{what}", lambda *b, w=what: self.measure(w, *b))
        for what in ("i", "v", "iv"):
            e.function(f"{p}.measure.overlapped{what}", lambda *b, w=what: self.overlapped(w, *b))
        e.function(f"{p}.reset", self.reset)
        e.function(f"{p}.abort", lambda: None)
        sync = lambda buf: flush(self.dev.bench, buf)  # noqa: E731
        self.nvbuffer1.declare(e, f"{p}.nvbuffer1", self.buffers, sync)
        self.nvbuffer2.declare(e, f"{p}.nvbuffer2", self.buffers, sync)
        e.function(f"{p}.trigger.source.listv", self._listv)
        e.function(f"{p}.trigger.source.linearv", self._linearv)
        e.attribute(f"{p}.trigger.source.action", lambda: self.trig_source_action,
                    self._setter("trig_source_action", choices=(0, 1)))
        e.attribute(f"{p}.trigger.measure.action", lambda: self.trig_measure_action,
                    self._setter("trig_measure_action", choices=(0, 1, 2)))
        e.attribute(f"{p}.trigger.endpulse.action", lambda: self.trig_endpulse,
                    self._setter("trig_endpulse", choices=(0, 1)))
        e.attribute(f"{p}.trigger.count", lambda: self.trig_count, self._setter("trig_count", low=0, high=1e9))
        for what in ("i", "v", "iv", "r", "p"):
            e.function(f"{p}.trigger.measure.{what}", self._trig_measure(what))
        for stim in ("arm.stimulus", "source.stimulus", "measure.stimulus", "endpulse.stimulus",
                     "endsweep.action", "arm.count", "source.limiti", "source.limitv"):
            e.setting(f"{p}.trigger.{stim}", 0)
        e.function(f"{p}.trigger.initiate", self._initiate)
        # measurement status condition: bit 0 voltage limit, bit 1 current limit (the source is in compliance)
        e.attribute(f"status.measurement.instrument.{p}.condition", lambda: 2 if self.src.tripped else 0)

    def _set_rangev(self, v: Any) -> None:
        self.rangev = _range_for(_num(v, f"{self.prefix}.source.rangev"), V_RANGES, f"{self.prefix}.source.rangev")
        self.autorangev = 0

    def _set_meas_rangei(self, v: Any) -> None:
        self.meas_rangei = _range_for(_num(v, f"{self.prefix}.measure.rangei"), I_RANGES,
                                      f"{self.prefix}.measure.rangei")
        self.meas_autorangei = 0
