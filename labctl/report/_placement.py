"""The report's fault-map and placement section: scan counts per crossbar, the faults each layer still uses, the
placed lines, and the fault map drawn as text (one character per cell, the layers' cells marked)."""

from __future__ import annotations

import html
from typing import Any

#: Fault map characters: working, stuck-ON, stuck-OFF, virgin (upper case where a layer uses the cell).
CHARS = {"working": ".", "stuck_on": "O", "stuck_off": "x", "virgin": "v"}


def fault_strings(classes: Any) -> list[str]:
    """A crossbar's class array as one string per row (see :data:`CHARS`)."""
    return ["".join(CHARS.get(str(c), "?") for c in row) for row in classes]


def _used(placement: dict[str, Any], crossbar: str) -> dict[tuple[int, int], str]:
    cells: dict[tuple[int, int], str] = {}
    for k, (name, lp) in enumerate(sorted(placement.get("layers", {}).items())):
        for s in lp["segments"]:
            if s["crossbar"] == crossbar:
                for r in s["rows"]:
                    for c in s["cols"]:
                        cells[(r, c)] = str(k + 1)
        del name
    return cells


def placement_html(placement: dict[str, Any], fault_maps: dict[str, list[str]]) -> str:
    """HTML of the placement section (empty paragraph when the run had none)."""
    if not placement:
        return "<p>None (layers at fixed origins).</p>"
    e = html.escape
    parts = [f'<p class="muted">method: {e(str(placement.get("method", "")))}</p>']
    counts = placement.get("fault_counts", {})
    if counts:
        rows = "".join(f"<tr><td class=\"l\">{e(x)}</td>" + "".join(f"<td>{v}</td>" for v in c.values()) + "</tr>"
                       for x, c in counts.items())
        head = "".join(f"<th>{e(k)}</th>" for k in next(iter(counts.values())))
        parts.append(f'<table id="fault-counts"><thead><tr><th class="l">crossbar (scan)</th>{head}</tr></thead>'
                     f"<tbody>{rows}</tbody></table>")
    dmg = placement.get("damage", {})
    lines: list[str] = []
    for name, lp in placement.get("layers", {}).items():
        d = dmg.get(name, {})
        segs = "; ".join(f"{s['crossbar']}: rows {s['rows']}, cols {s['cols']}" for s in lp["segments"])
        lines.append(f"<tr><td class=\"l\">{e(name)}</td><td>{lp['n_in']}&times;{lp['n_out']}</td>"
                    f"<td>{d.get('stuck_on', '')}</td><td>{d.get('stuck_off', '')}</td><td>{d.get('virgin', '')}</td>"
                    f"<td>{d.get('off_under_on_target', '')}</td><td class=\"l\"><code>{e(segs)}</code></td></tr>")
    parts.append('<table id="placement"><thead><tr><th class="l">layer</th><th>cells</th><th>stuck-ON used</th>'
                 "<th>stuck-OFF used</th><th>virgin used</th><th>OFF cells under ON targets</th>"
                 f'<th class="l">lines</th></tr></thead><tbody>{"".join(lines)}</tbody></table>')
    names = sorted(placement.get("layers", {}))
    legend = ", ".join(f"{k + 1} = {n}" for k, n in enumerate(names))
    for xb, fmap in fault_maps.items():
        used = _used(placement, xb)
        drawn = []
        for r, line in enumerate(fmap):
            drawn.append("".join((used[(r, c)] if ch == "." else ch.upper() + "\u0332") if (r, c) in used else ch
                                 for c, ch in enumerate(line)))
        parts.append(f"<h3>{e(xb)}</h3><p class=\"muted\">. working, O stuck-ON, x stuck-OFF, v virgin; a layer's "
                     f"working cells drawn as its number ({e(legend)}), a fault it uses underlined</p>"
                     f'<pre class="faultmap">{e(chr(10).join(drawn))}</pre>')
    return "".join(parts)
