"""The service's one seam to the rest of labctl: benches, protocols, the run journal, the trainer.

``Backend`` is what the scheduler and the routes need; ``labctl.service.stack.LabctlBackend`` implements it
on the real pieces (``labctl.bench``, ``protocols``, ``labctl.jobs``, ``labctl.store``, ``labctl.train``).
Keeping it this small lets one module change when those APIs change.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from pydantic import BaseModel

from labctl.core.records import Progress
from labctl.service.config import BenchEntry

ProgressCallback = Callable[[Progress], None]
RunCallback = Callable[[str], None]
CellCallback = Callable[[list[Any]], None]


class BenchHandle(Protocol):
    """An open bench as the service sees it."""

    name: str

    def crossbars(self) -> dict[str, tuple[int, int]]:
        """crossbar name -> (rows, cols)."""
        ...

    async def status(self) -> dict[str, Any]:
        """Instrument identities, settings and live state (outputs, closed relays)."""
        ...

    async def safe_state(self) -> None:
        """Every output off, every relay open."""
        ...


class Results(Protocol):
    """Read access to the run journal in JSON-able form (blocking: call it off the loop).

    An unknown run raises ``LookupError`` whose message names it.
    """

    def list_runs(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Runs newest first, and how many there are."""
        ...

    def get_run(self, run_id: str) -> dict[str, Any]:
        """A run's metadata, bench snapshot, status and results."""
        ...

    def events(self, run_id: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """Pulses and reads in journal order, one page."""
        ...

    def maps(self, run_id: str) -> list[dict[str, str]]:
        """``{"crossbar", "name"}`` of every stored map, in order."""
        ...

    def load_map(self, run_id: str, crossbar: str | None, name: str | None) -> dict[str, Any]:
        """The latest matching map: name, crossbar, read_voltage, conductance/targets (S, None = NaN), status."""
        ...

    def export(self, run_id: str, fmt: str) -> tuple[bytes, str, str]:
        """A run exported: ``(content, media type, file name)``."""
        ...

    def cells(self, run_id: str) -> list[dict[str, Any]]:
        """Per-cell programming outcomes so far: row, col, status, target, conductance (S, None = NaN), pulses,
        attempt."""
        ...

    def report_html(self, run_id: str) -> str:
        """The measured-vs-trained report of a run as one self-contained HTML page."""
        ...


class Backend(Protocol):
    """Everything the service does to a bench or the journal goes through here."""

    def protocols(self) -> dict[str, type[BaseModel]]:
        """Protocol name -> its strict parameter model (the CLI's models)."""
        ...

    def off_loop_jobs(self) -> dict[str, type[BaseModel]]:
        """Training/sync job kind -> its parameter model."""
        ...

    def open_bench(self, entry: BenchEntry) -> AbstractAsyncContextManager[BenchHandle]: ...

    async def check_protocol(self, bench: BenchHandle, protocol: str, params: dict[str, Any],
                             crossbar: str | None) -> None:
        """Refuse (``ConfigError``/``LimitError`` naming the field) what the protocol would refuse on this bench's
        crossbar before its first operation: the checks ``labctl run`` makes, at submission time."""
        ...

    async def run_protocol(
        self, bench: BenchHandle, protocol: str, params: dict[str, Any], *, crossbar: str | None,
        resume: str | None, on_progress: ProgressCallback, on_run: RunCallback, job_id: str | None = None,
        on_cell: CellCallback | None = None,
    ) -> dict[str, Any]:
        """Run one protocol job into the journal; returns a JSON-able summary. ``resume``: the run to continue.
        ``job_id`` names the run, so a job whose run was created but never recorded (a crash in between)
        finds it again instead of starting a second one. ``on_cell`` gets each cell outcome once the journal has
        committed it, as ``[row, col, status, G (S), target (S), pulses, Unix time]`` (the live cell map)."""
        ...

    async def run_off_loop(self, kind: str, params: dict[str, Any], on_progress: ProgressCallback) -> dict[str, Any]:
        """Run a training or sync job outside the event loop; returns a JSON-able summary."""
        ...

    def results(self) -> Results:
        """The run journal."""
        ...

    def export_formats(self) -> list[str]:
        """Formats ``Results.export`` takes."""
        ...
