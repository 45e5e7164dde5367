"""Scan and write-verify settings for a simulated chip with wire resistance (decision 0054).

On such a chip a SET must run under a current limit (else the cell runs to full LRS, and a cell in full LRS far from
the pads cannot be RESET through the lines), the limit must follow each row's half-select load, and the scan needs a
stronger test SET and RESET than on ideal lines. The loop adds these where its options do not set them.
"""

from __future__ import annotations

from typing import Any

#: the scan's test pulses: SET 2.2 V under 8 mA, RESET 2.1 V, cells parked OFF (SET then RESET)
WIRED_SCAN: dict[str, Any] = {"order": "set_reset", "set_volts": 2.2, "set_compliance": 8e-3, "reset_volts": 2.1}

#: write-verify: V/3 (every unselected cell at V/3: the half-selected cells of a row draw far less than at V/2, so a
#: row with a stuck-ON cell no longer folds the drive, and a reprogramming RESET puts at most 0.8 V on other cells),
#: SET limited to the row's load + 0.2 mA (at most 20 mA; with 0.7 mA a third of the ON targets overshot their band,
#: decision 0066), caps 2.4 V, 30 % + 2 uS tolerance; no retries (a retried ON target more often ends below its band
#: than where the first attempt left it: decision 0056). Decision 0063.
_WIRED_BOTH: dict[str, Any] = {"set_compliance": 20e-3, "rel_tol": 0.3, "abs_tol": 2e-6, "max_pulses": 60}
WIRED_PROGRAM: dict[str, Any] = _WIRED_BOTH | {"scheme": "v/3", "set_headroom": 0.2e-3, "set_cap": 2.4,
                                               "reset_cap": 2.4}

#: the same on a bench without a 'bias_col' source of its own (no V/3): V/2, the row's load + 1 mA, caps 2.2 V
#: (decision 0054)
WIRED_PROGRAM_HALF: dict[str, Any] = _WIRED_BOTH | {"scheme": "v/2", "set_headroom": 1e-3, "set_cap": 2.2,
                                                    "reset_cap": 2.2}


#: placement: a working cell counts as stuck-OFF by the fraction of stuck-OFF cells the scan found in this window
#: around it (the scan's misses cluster far from the drivers, where write-verify fails too; decision 0055)
WIRED_RISK_WINDOW = 9
