"""The Lua runtime of the TSP engine: a lupa ``LuaRuntime`` with the unsafe parts of Lua's standard library
removed (no ``os``, ``io``, ``debug``, ``package``, ``require``, file loading or bytecode), Python objects opaque
to scripts, and an instruction budget per message so a runaway script ends with an error instead of hanging the
simulator.

TSP is Lua 5.0 underneath (every number a double); lupa's Lua 5.1 is the closest flavour it ships and its count
hook fires on every instruction (LuaJIT's JIT-compiled loops skip hooks, so the budget would not hold there).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

FLAVOURS = ("lua51", "lua54", "luajit21")
"""lupa modules tried in order (the first one installed is used)."""

_UNSAFE = ("os", "io", "debug", "package", "require", "dofile", "loadfile", "load", "loadstring", "module",
           "collectgarbage", "getfenv", "setfenv", "newproxy", "gcinfo", "jit", "ffi", "rawequal", "rawget",
           "rawset", "coroutine")

_PRELUDE = """
local sethook, loadstring, err, rawset = debug.sethook, loadstring or load, error, rawset
local budget = 0
local function hook()
  budget = budget - 1000
  if budget < 0 then sethook(); err("script aborted: instruction limit exceeded", 2) end
end
local function guard(n)
  budget = n
  if n > 0 then sethook(hook, "", 1000) else sethook() end
end
local function compile(code, name)
  return loadstring(code, "=" .. name)
end
local function node(attrs, path, plain)
  local t = {}
  for k, v in pairs(plain) do t[k] = v end
  return setmetatable(t, {
    __index = function(_, k)
      local a = attrs[k]
      if a == nil then
        local item = attrs.__item
        if item ~= nil and type(k) == "number" then return item(k, false) end
        return nil
      end
      return a(nil, false)
    end,
    __newindex = function(t, k, v)
      local a = attrs[k]
      if a == nil then err("attempt to set " .. path .. "." .. tostring(k) .. ": no such attribute", 2) end
      a(v, true)
    end,
  })
end
local function noop_node()
  return setmetatable({}, {
    __index = function(t, k) local c = noop_node(); rawset(t, k, c); return c end,
    __newindex = function() end,
    __call = function() return nil end,
  })
end
local function script_object(name, fn, source)
  return setmetatable({name = name, source = source, run = fn}, {__call = function(_, ...) return fn(...) end})
end
return guard, compile, node, noop_node, script_object
"""


def _module() -> ModuleType:
    for name in FLAVOURS:
        try:
            return importlib.import_module(f"lupa.{name}")
        except ImportError:
            continue
    raise ImportError(f"no Lua runtime: install lupa (one of lupa.{', lupa.'.join(FLAVOURS)})")


def _deny(obj: object, name: object, is_setting: bool) -> object:
    raise AttributeError("Python objects are opaque to TSP scripts")


class LuaSandbox:
    """One Lua state. ``compile(code, name)`` -> (function or None, error text); ``run(fn)`` calls it within the
    instruction budget; ``node(attrs, path)`` builds a proxy table whose keys are served by ``attrs``."""

    def __init__(self, budget: int = 50_000_000) -> None:
        mod = _module()
        self.LuaError: type[Exception] = mod.LuaError
        self.lua = mod.LuaRuntime(register_eval=False, register_builtins=False, unpack_returned_tuples=True,
                                  attribute_filter=_deny)
        self.flavour = mod.__name__.rsplit(".", 1)[1]
        self.budget = budget
        self._guard, self._compile, self._node, self.noop_node, self.script_object = self.lua.execute(_PRELUDE)
        g = self.lua.globals()
        for name in _UNSAFE:
            g[name] = None
        g.string.dump = None
        self.globals = g

    def compile(self, code: str, name: str) -> tuple[Any, str]:
        out = self._compile(code, name)
        if isinstance(out, tuple):  # (nil, message)
            return None, str(out[1])
        return out, ""

    def run(self, fn: Any, *args: Any) -> Any:
        self._guard(self.budget)
        try:
            return fn(*args)
        finally:
            self._guard(0)

    def node(self, attrs: Any, path: str, plain: Any) -> Any:
        """A table holding ``plain`` (constants, functions, sub-tables) whose other keys are served by ``attrs``
        (key -> ``acc(value, is_set)``); writing a key neither has is an error."""
        return self._node(attrs, path, plain)

    def table(self, *items: Any, **kw: Any) -> Any:
        return self.lua.table(*items, **kw)

    def table_from(self, mapping: dict[str, Any]) -> Any:
        return self.lua.table_from(mapping)
