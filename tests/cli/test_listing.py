"""List commands' tables: in an 80-column terminal every cell is whole (ids, states, counts), and a table fits 80
columns where its content does; in a pipe, tab-separated lines."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import pytest

from labctl.cli._listing import print_listing

HEADERS = ("run", "protocol", "crossbar", "status", "progress", "created")  # `labctl runs list`
ROWS = [("20261205-105442-program-136be5", "program", "xbar0", "completed", "4096/4096", "12-05 10:54"),
        ("20261205-105501-scan-4f2a9c", "scan", "xbar1", "failed", "0/4096", "12-05 10:55")]
JOB = ("2910c39c8cdb", "sim", "program", "succeeded", "256/256", "20261205-110655-program-job2910c39c8cdb")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _print(monkeypatch: pytest.MonkeyPatch, rows: Sequence[Sequence[str]], tty: bool,
           headers: tuple[str, ...] = HEADERS) -> str:
    out = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setenv("COLUMNS", "80")
    print_listing(headers, rows, title="a listing")
    return re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())  # colours off: the text as read


def test_terminal_table_cuts_nothing_and_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _print(monkeypatch, ROWS, tty=True)
    assert "…" not in text
    for row in ROWS:
        line = next(line for line in text.splitlines() if row[0] in line)
        for cell in row:
            assert cell in line, (cell, line)
    assert max(len(line) for line in text.splitlines()) <= 80, text


def test_wider_content_widens_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """`labctl jobs list`: a job's run id makes the row 84 characters; every cell stays whole."""
    text = _print(monkeypatch, [JOB], tty=True, headers=("id", "lane", "job", "state", "progress", "run"))
    assert "…" not in text
    line = next(line for line in text.splitlines() if JOB[0] in line)
    assert line.split() == list(JOB)


def test_pipe_gets_tab_separated_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _print(monkeypatch, ROWS, tty=False).splitlines()
    assert lines[0].split("\t") == list(HEADERS)
    assert [tuple(line.split("\t")) for line in lines[1:]] == ROWS
