"""``print_listing``: a list command's rows, nothing ever cut.

To a pipe or a file: tab-separated lines (a header, then one line per row) for ``grep``/``cut``. In a terminal: a
table whose every column is as wide as its widest cell (ids whole, states and counts readable), borderless, so it
fits 80 columns where the content does; wider content widens the table rather than cutting a cell.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click


def print_listing(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    if not sys.stdout.isatty():
        click.echo("\t".join(headers))
        for row in rows:
            click.echo("\t".join(row))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, title=title, box=None, pad_edge=False, collapse_padding=True, header_style="bold underline")
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for col, width in zip(table.columns, widths, strict=True):
        col.no_wrap, col.min_width = True, width
    for row in rows:
        table.add_row(*row)
    console = Console()
    needed = sum(widths) + len(widths) - 1  # one space between columns
    if needed > console.width:
        console = Console(width=needed)
    console.print(table)
