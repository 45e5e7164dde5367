"""The TSP engine: scripts a host sends run in a sandboxed Lua runtime (lupa)."""

from __future__ import annotations

from sim_instruments.tsp import TspEngine, TspError


def _engine() -> tuple[TspEngine, list[float], list[str]]:
    clock = [0.0]
    resets: list[str] = []

    def delay(s: float) -> None:
        clock[0] += s

    e = TspEngine(idn="Keithley Instruments Inc., Model 2636B, 1, 4.0.4", model="2636B", now=lambda: clock[0],
                  delay=delay, reset=lambda: resets.append("reset"))
    box = {"v": 0.0}

    def set_level(v: float) -> None:
        if abs(v) > 200:
            raise TspError(-222, "Parameter data out of range")
        box["v"] = v

    e.attribute("smua.source.levelv", lambda: box["v"], set_level)
    e.value("smua.OUTPUT_ON", 1)
    e.function("smua.measure.i", lambda *a: 1.5e-6)
    return e, clock, resets


def test_print_formats_numbers_as_tsp_and_joins_values_with_tabs() -> None:
    e, _, _ = _engine()
    assert e.handle("*IDN?") == "Keithley Instruments Inc., Model 2636B, 1, 4.0.4"
    assert e.handle('print(4, "a", nil, true)') == "4.00000e+00\ta\tnil\ttrue"
    assert e.handle("smua.source.levelv = 2.5 print(smua.source.levelv, smua.OUTPUT_ON)") == "2.50000e+00\t1.00000e+00"
    assert e.handle("format.asciiprecision = 3 print(smua.measure.i())") == "1.50e-06"
    assert e.handle("smua.source.levelv = 1") is None  # no print: no reply
    assert e.handle('print(1) print("x")') == "1.00e+00\nx"


def test_errors_go_to_the_queue_syntax_runtime_and_instrument() -> None:
    e, _, _ = _engine()
    assert e.handle("x = = 1") is None
    assert e.handle("nosuch()") is None
    assert e.handle('smua.source.levelv = 300 print("went on")') == "went on"  # an instrument error: the chunk goes on
    assert e.handle("smua.source.levelv") is None  # not a statement: syntax error
    assert e.handle("print(errorqueue.count)") == "4.00000e+00"
    codes = [e.handle("print(errorqueue.next())").split("\t")[0] for _ in range(4)]  # type: ignore[union-attr]
    assert codes == ["-2.85000e+02", "-2.86000e+02", "-2.22000e+02", "-2.85000e+02"]
    assert e.handle("print(errorqueue.next())") == "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00"
    assert e.handle("print(smua.source.levelv)") == "0.00000e+00"  # the refused level was not set
    e.handle("smua.nosuch = 1")
    assert "no such attribute" in e.handle("print(errorqueue.next())")  # type: ignore[operator]


def test_loadscript_named_scripts_run_and_call() -> None:
    e, _, _ = _engine()
    for line in ("loadscript demo", "function twice(n) return 2 * n end", 'print("loaded")', "endscript"):
        assert e.handle(line) is None  # nothing runs while loading
    assert e.handle("print(twice)") == "nil"
    assert e.handle("demo.run()") == "loaded"
    assert e.handle("print(twice(21))") == "4.20000e+01"
    assert e.handle("demo()") == "loaded"
    assert e.handle("script.user.scripts.demo()") == "loaded"
    for line in ("loadscript", 'print("anon")', "endscript"):
        e.handle(line)
    assert e.handle("script.run()") == "anon"
    for line in ("loadandrunscript now", 'print("at once")'):
        assert e.handle(line) is None
    assert e.handle("endscript") == "at once"
    for line in ("loadscript broken", "function (", "endscript"):
        e.handle(line)
    assert e.handle("print(broken, errorqueue.count)") == "nil\t1.00000e+00"


def test_sandbox_has_no_os_io_or_loaders_and_stops_runaway_scripts() -> None:
    e, _, _ = _engine()
    assert e.handle("print(os, io, debug, require, dofile, loadstring, load, package)") == "\t".join(["nil"] * 8)
    assert e.handle("print(string.dump)") == "nil"
    assert e.handle("print(smua.measure.i.__class__)") is None  # Python objects are opaque
    e.handle("errorqueue.clear()")
    assert e.handle('while true do end print("never")') is None
    assert "instruction limit" in (e.handle("print(errorqueue.next())") or "")
    assert e.handle('print("still alive")') == "still alive"


def test_delay_and_timer_use_the_bench_clock_and_reset_reaches_the_instrument() -> None:
    e, clock, resets = _engine()
    assert e.handle("timer.reset() delay(0.25) delay(0.5) print(timer.measure.t())") == "7.50000e-01"
    assert clock[0] == 0.75
    e.handle("delay(-1)")
    assert e.handle("print(errorqueue.count)") == "1.00000e+00"
    e.handle("reset()")
    e.handle("*RST")
    assert resets == ["reset", "reset"]
    assert e.handle("display.clear() display.smua.measure.func = display.MEASURE_DCAMPS beeper.beep(0.1, 440)") is None
    assert e.handle("print(localnode.model, errorqueue.count)") == "2636B\t1.00000e+00"
