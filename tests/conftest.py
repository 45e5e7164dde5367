"""Shared pytest configuration. Hardware tests run only with ``--bench-config FILE``."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--bench-config", default=None, help="bench YAML for tests in tests/hardware/ (the hil checks)")
    parser.addoption("--allow-program", action="store_true", default=False,
                     help="hardware tier: also write-verify the bench's hil.test_area")
    parser.addoption("--hil-crossbar", default=None, help="hardware tier: crossbar to check (default: the first)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--bench-config"):
        return
    skip = pytest.mark.skip(reason="needs a real bench: pytest --bench-config FILE")
    for item in items:
        if "hardware" in item.keywords or "/hardware/" in str(item.fspath):
            item.add_marker(skip)
