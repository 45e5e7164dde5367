"""The simulated bench in a child process (``SimProcess``, i.e. ``labctl sim serve --control``): real pyvisa
traffic, run-time faults over the control channel, clean stop, and no process left behind when the parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import pyvisa

from labctl.bench import DEFAULT_CONFIG, open_bench
from labctl.bench._sim import SimProcess
from labctl.core.config import load_bench_config


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has exited
        return f.read().split(")")[1].split()[0] != "Z"


def test_process_serves_faults_and_stops_cleanly() -> None:
    cfg = load_bench_config(DEFAULT_CONFIG)
    with SimProcess(cfg) as proc:
        assert set(proc.resources) == set(cfg.instruments)
        smu = pyvisa.ResourceManager("@py").open_resource(proc.resources["smu0_aux"], read_termination="\n",
                                                          write_termination="\n")
        assert isinstance(smu, pyvisa.resources.MessageBasedResource)
        smu.timeout = 300
        assert smu.query("*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2450")
        t0 = proc.now()
        smu.query("*OPC?")
        assert proc.now() > t0  # the virtual clock of the child moved with the message
        proc.set_fault("smu0_aux", no_reply_every=1)
        with pytest.raises(pyvisa.VisaIOError):
            smu.query("*OPC?")
        proc.set_fault("smu0_aux")
        smu.clear()
        assert smu.query("*OPC?") == "1"
        with pytest.raises(RuntimeError, match="not simulated"):
            proc.set_fault("nope", latency=0.1)
        with pytest.raises(ValueError, match="latency"):
            proc.set_fault("smu0_aux", latency=-1)
        smu.close()
        pid = proc.proc.pid
    assert proc.proc.returncode == 0
    assert not _alive(pid)


async def test_a_bench_opened_on_the_process_programs_and_reads() -> None:
    with SimProcess(load_bench_config(DEFAULT_CONFIG)) as proc:
        async with open_bench(proc.served_config()) as bench:
            xbar = bench.crossbars["xbar0"]
            before = (await xbar.read(2, [3], 0.1))[0].current
            await xbar.pulse(2, [3], 1.5, 1e-4)
            after = (await xbar.read(2, [3], 0.1))[0].current
            assert before > 0
            assert after > 0
            assert after != before


def test_the_child_ends_when_its_parent_is_killed() -> None:
    code = ("from labctl.bench import DEFAULT_CONFIG; from labctl.bench._sim import SimProcess;"
            "from labctl.core.config import load_bench_config; import time;"
            "p = SimProcess(load_bench_config(DEFAULT_CONFIG)); print(p.proc.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the simulated bench process outlived its parent"


def test_a_broken_config_fails_with_the_childs_error() -> None:
    cfg = load_bench_config(DEFAULT_CONFIG)
    bad = cfg.model_copy(update={"sim": None})
    with pytest.raises(RuntimeError, match=r"(?s)exited before it was ready.*resource = 'sim' needs a 'sim' section"):
        SimProcess(bad)
