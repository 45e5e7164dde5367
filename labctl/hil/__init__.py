"""Hardware-in-the-loop checks: is a bench fit to use? (``labctl hil`` and ``pytest tests/hardware``).

``report = await run_hil(bench_yaml, crossbar=None, allow_program=False, out=None)`` runs, in order:

1. ``identity``: every instrument answers and is the model its driver is written for; clean after reset;
2. ``limits``: a request just beyond each configured limit is refused before anything is sent, and each source's
   own current limit reads back as configured;
3. ``routing``: every row and column conducts at the read voltage through the array, never two inputs on one
   output, every relay open afterwards;
4. ``safe_state``: an operation cancelled or cut by a deadline leaves outputs off and relays open;
5. ``map_read``: a clamped map read of the test area (``hil.test_area``) against ``hil.expected``;
6. ``program``: only with ``allow_program``: write-verify of the test area, then read back.

A failure of checks 1-5 skips the rest (not safe). Non-destructive unless ``allow_program``.
"""

from labctl.hil._report import write_report
from labctl.hil._result import CheckResult, HilReport, Status
from labctl.hil._run import CHECK_KEYS, run_hil

__all__ = ["CHECK_KEYS", "CheckResult", "HilReport", "Status", "run_hil", "write_report"]
