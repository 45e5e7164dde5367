"""Shared shell of the SMU drivers: tracked output state (for the hot-switch interlock) and the
``SourceMeasureUnit`` capability on top of a few command builders."""

from __future__ import annotations

from instruments._base import ScpiInstrument


class SmuBase(ScpiInstrument):
    """Subclasses build commands; this class tracks which outputs may be on."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.output_on: dict[int, bool] = {c: False for c in range(1, self.channels + 1)}
        self.compliance: dict[int, float] = {}

    def is_live(self, channel: int) -> bool:
        """True while the output may be on (set before ON is sent, cleared only after OFF is acknowledged)."""
        return self.output_on.get(channel, True)

    def _check_channel(self, channel: int) -> None:
        if channel not in self.output_on:
            from labctl.core.errors import ConfigError

            raise ConfigError.out_of_range("channel", channel, 1, self.channels)

    def _mark(self, channels: list[int], on: bool) -> None:
        for c in channels:
            self.output_on[c] = on
