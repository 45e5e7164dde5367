"""``TspEngine``: what a TSP instrument does with the lines a host sends, on a real Lua runtime.

Each line is a Lua chunk run at once, except between ``loadscript [NAME]`` and ``endscript`` (or
``loadandrunscript``), where lines are collected into a script: a named script becomes a global script object
(``NAME.run()`` or ``NAME()``, also ``script.user.scripts.NAME``), an unnamed one ``script.anonymous``
(``script.run()``). ``print`` output is the reply (one line per call, values separated by tabs, numbers in
``format.asciiprecision`` digits). Errors go to ``errorqueue``: a syntax error (-285) runs nothing, a Lua run-time
error (-286) stops the chunk, an instrument error raised by a command (:class:`TspError`) is queued and the chunk
goes on, as the 2600B manual describes. Also built in: ``delay``, ``timer`` (the bench's virtual clock),
``waitcomplete``, ``opc``, ``reset``, ``display``/``beeper`` (no-ops), ``format``, ``localnode`` and the IEEE-488
common commands (``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ...). Instruments add their own tables with
:meth:`TspEngine.value`, :meth:`TspEngine.attribute` and :meth:`TspEngine.function`.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from sim_instruments.tsp._lua import LuaSandbox

Getter = Callable[[], Any]
Setter = Callable[[Any], None]
_LOAD = re.compile(r"^(loadscript|loadandrunscript)(?:\s+([A-Za-z_]\w*))?\s*$")
_WHERE = re.compile(r"^[^:\n]*:(\d+):\s*(.*)$", re.S)


class TspError(Exception):
    """An instrument error: queued with ``code``; the chunk goes on unless ``abort``."""

    def __init__(self, code: int, text: str, *, abort: bool = False) -> None:
        super().__init__(text)
        self.code, self.text, self.abort = code, text, abort


def ascii_number(x: float, precision: int = 6) -> str:
    """A number as TSP's ``print`` writes it in ASCII format (``4.00000e+00`` at precision 6)."""
    if math.isnan(x):
        return "nan"
    return f"{float(x):.{precision - 1}e}"


class TspEngine:
    """The scripting side of one TSP instrument. ``now()`` is the bench clock (s), ``delay(s)`` lets time pass,
    ``reset()`` restores the instrument's defaults (``reset()`` / ``*RST``)."""

    error_queue_size = 100

    def __init__(self, *, idn: str, model: str, now: Callable[[], float], delay: Callable[[float], None],
                 reset: Callable[[], None], number: Callable[[float, int], str] = ascii_number,
                 budget: int = 50_000_000) -> None:
        self.idn, self.model = idn, model
        self._now, self._delay, self._reset, self._number = now, delay, reset, number
        self.lua = LuaSandbox(budget)
        self.errors: deque[tuple[int, str]] = deque()
        self.precision = 6
        self._out: list[str] = []
        self._loading: tuple[str | None, bool, list[str]] | None = None
        self._tree: dict[str, Any] = {}
        self._built = False
        self._timer0 = 0.0
        self._builtins()

    # --- declaring the instrument's API -----------------------------------------------------------------
    def _slot(self, path: str) -> tuple[dict[str, Any], str]:
        *parents, leaf = path.split(".")
        node = self._tree
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"{path}: {p} is not a table")
        return node, leaf

    def value(self, path: str, v: Any) -> None:
        """A constant (``smua.OUTPUT_ON``)."""
        node, leaf = self._slot(path)
        node[leaf] = ("value", v)

    def attribute(self, path: str, get: Getter, set: Setter | None = None) -> None:
        """An attribute read with ``get()`` and written with ``set(v)`` (read-only without ``set``)."""
        node, leaf = self._slot(path)
        node[leaf] = ("attr", get, set)

    def items(self, path: str, get: Callable[[int], Any]) -> None:
        """Numeric indexing of the table at ``path`` (``smua.nvbuffer1[3]``, ``trigger.timer[1]``)."""
        node, leaf = self._slot(path + ".__item")
        node[leaf] = ("item", get)

    def function(self, path: str, fn: Callable[..., Any]) -> None:
        """A function (``smua.measure.i``); a :class:`TspError` it raises is queued (the chunk goes on)."""
        node, leaf = self._slot(path)
        node[leaf] = ("func", self._guarded(fn))

    def _guarded(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            try:
                return fn(*args)
            except TspError as err:
                if err.abort:
                    raise
                self.push_error(err.code, err.text)
                return None

        return call

    def _build(self, tree: dict[str, Any], path: str) -> Any:
        attrs = self.lua.table()
        plain: dict[str, Any] = {}
        for key, item in tree.items():
            if isinstance(item, dict):
                plain[key] = self._build(item, f"{path}.{key}" if path else key)
            elif item[0] == "value" or item[0] == "func":
                plain[key] = item[1]
            elif item[0] == "item":
                get = item[1]
                attrs[key] = lambda k, is_set, get=get: get(int(k))
            else:
                attrs[key] = self._accessor(f"{path}.{key}", item[1], item[2])
        # constants, functions and sub-tables are plain keys of the table: read without a call into Python
        return self.lua.node(attrs, path, self.lua.table_from(plain))

    def _accessor(self, path: str, get: Getter, set: Setter | None) -> Callable[[Any, bool], Any]:
        def acc(v: Any, is_set: bool) -> Any:
            try:
                if not is_set:
                    return get()
                if set is None:
                    raise TspError(1109, f"{path} is read-only")
                set(v)
            except TspError as err:
                if err.abort:
                    raise
                self.push_error(err.code, err.text)
            return None

        return acc

    def _install(self) -> None:
        g = self.lua.globals
        for name, item in self._tree.items():
            if isinstance(item, dict):
                g[name] = self._build(item, name)
            elif item[0] in ("value", "func"):
                g[name] = item[1]
        self._built = True

    # --- built-ins --------------------------------------------------------------------------------------
    def _builtins(self) -> None:
        g = self.lua.globals
        g.print = self._print
        g.delay = self._guarded(self._delay_checked)
        g.waitcomplete = lambda *a: None
        g.opc = lambda *a: None
        g.reset = self._guarded(self._reset_all)
        g.display = self.lua.noop_node()
        g.beeper = self.lua.noop_node()
        user = self.lua.table()
        g.script = self.lua.table(user=self.lua.table(scripts=user))
        g.script.run = self._run_anonymous
        g.script.new = self._script_new
        self.function("errorqueue.clear", self.errors.clear)
        self.function("errorqueue.next", self._next_error)
        self.attribute("errorqueue.count", lambda: len(self.errors))
        self.function("timer.reset", self._timer_reset)
        self.function("timer.measure.t", lambda: self._now() - self._timer0)
        self.value("format.ASCII", 1)
        self.value("format.REAL32", 4)
        self.value("format.REAL64", 5)
        self.value("format.NORMAL", 0)
        self.value("format.SWAPPED", 1)
        self.attribute("format.asciiprecision", lambda: self.precision, self._set_precision)
        self.attribute("format.data", lambda: 1, self._set_format)
        self.attribute("format.byteorder", lambda: 1, lambda v: None)
        self.attribute("localnode.model", lambda: self.model)
        self.attribute("localnode.serialno", lambda: self.idn.split(",")[2].strip())
        self.attribute("localnode.version", lambda: self.idn.split(",")[3].strip())
        self.attribute("localnode.revision", lambda: self.idn.split(",")[3].strip())
        self.attribute("localnode.description", lambda: f"Keithley Instruments {self.model}")
        for name, default in (("linefreq", 50), ("prompts", 0), ("showerrors", 0), ("autolinefreq", 0)):
            self.setting(f"localnode.{name}", default)

    def setting(self, path: str, default: Any) -> None:
        """An attribute that stores what is written and reads it back (no effect on the simulation)."""
        box = [default]

        def put(v: Any) -> None:
            box[0] = v

        self.attribute(path, lambda: box[0], put)

    def _set_precision(self, v: Any) -> None:
        if not isinstance(v, int | float) or not 1 <= v <= 16:
            raise TspError(-222, f"Parameter data out of range: format.asciiprecision = {v!r}; allowed 1 to 16")
        self.precision = int(v)

    def _set_format(self, v: Any) -> None:
        if v != 1:
            raise TspError(-224, "Illegal parameter value: only format.ASCII is simulated")

    def _delay_checked(self, seconds: Any) -> None:
        if not isinstance(seconds, int | float) or not seconds >= 0:
            raise TspError(-222, f"Parameter data out of range: delay({seconds!r}); allowed >= 0 s")
        self._delay(float(seconds))

    def _timer_reset(self) -> None:
        self._timer0 = self._now()

    def _reset_all(self) -> None:
        self.precision = 6
        self._reset()

    def _next_error(self) -> tuple[int, str, int, int]:
        if not self.errors:
            return 0, "Queue Is Empty", 0, 0
        code, text = self.errors.popleft()
        return code, text, 20 if code < 0 else 30, 0

    def push_error(self, code: int, text: str) -> None:
        if len(self.errors) < self.error_queue_size:
            self.errors.append((code, text))

    def format_value(self, v: Any) -> str:
        if v is None:
            return "nil"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return self._number(float(v), self.precision)
        if isinstance(v, str):
            return v
        if isinstance(v, bytes):
            return v.decode(errors="replace")
        return f"{type(v).__name__.strip('_').lower().replace('lua', '')}: {id(v):#x}"

    def _print(self, *args: Any) -> None:
        self._out.append("\t".join(self.format_value(a) for a in args))

    def emit(self, line: str) -> None:
        """A line of output (what ``print`` and ``printbuffer`` write)."""
        self._out.append(line)

    # --- scripts ----------------------------------------------------------------------------------------
    def _define(self, name: str | None, code: str) -> Any:
        fn, message = self.lua.compile(code, name or "anonymous")
        if fn is None:
            self._lua_error(-285, message)
            return None
        obj = self.lua.script_object(name or "", fn, code)
        g = self.lua.globals
        if name is None:
            g.script.anonymous = obj
        else:
            g[name] = obj
            g.script.user.scripts[name] = obj
        return obj

    def _script_new(self, code: Any, name: Any = None) -> Any:
        return self._define(str(name) if name else None, str(code))

    def _run_anonymous(self) -> None:
        obj = self.lua.globals.script.anonymous
        if obj is None:
            raise TspError(-286, "TSP Runtime error: no anonymous script loaded", abort=True)
        obj.run()

    def _lua_error(self, code: int, message: str) -> None:
        first = message.split("\nstack traceback:", 1)[0].strip()
        m = _WHERE.match(first)
        kind = "Syntax" if code == -285 else "Runtime"
        self.push_error(code, f"TSP {kind} error at line {m.group(1)}: {m.group(2)}" if m
                        else f"TSP {kind} error: {first}")

    def run(self, fn: Any) -> None:
        """Call a compiled chunk or script within the instruction budget; errors go to the queue."""
        try:
            self.lua.run(fn)
        except TspError as err:
            self.push_error(err.code, err.text)
        except self.lua.LuaError as err:
            self._lua_error(-286, str(err))
        except (AttributeError, TypeError, ValueError, IndexError, KeyError, ZeroDivisionError) as err:
            self.push_error(-286, f"TSP Runtime error: {err}")  # from a call into the instrument

    def execute(self, code: str, name: str = "command") -> None:
        fn, message = self.lua.compile(code, name)
        if fn is None:
            self._lua_error(-285, message)
            return
        self.run(fn)

    # --- messages ---------------------------------------------------------------------------------------
    def _common(self, line: str) -> str | None:
        head = line.split()[0].upper()
        if head == "*IDN?":
            return self.idn
        if head == "*RST":
            self._reset_all()
        elif head == "*CLS":
            self.errors.clear()
        elif head == "*OPC?":
            return "1"
        elif head == "*ESR?":
            return "0"
        elif head == "*STB?":
            return str(4 if self.errors else 0)
        elif head not in ("*OPC", "*WAI", "*TRG", "*ESE", "*SRE"):
            self.push_error(-285, f"TSP Syntax error at line 1: unexpected symbol near '{head}'")
        return None

    def handle(self, message: str) -> str | None:
        """Execute one line; return what it printed (lines joined by newlines) or None."""
        if not self._built:
            self._install()
        line = message.strip()
        if self._loading is not None:
            if line != "endscript":
                self._loading[2].append(message)
                return None
            name, run, lines = self._loading
            self._loading = None
            obj = self._define(name, "\n".join(lines))
            if run and obj is not None:
                self.run(obj.run)
        elif line.startswith("*"):
            return self._common(line)
        elif (m := _LOAD.match(line)) is not None:
            self._loading = (m.group(2), m.group(1) == "loadandrunscript", [])
            return None
        elif line:
            self.execute(message)
        if not self._out:
            return None
        out, self._out = "\n".join(self._out), []
        return out
