"""Rule options (the `options` object of a rule), with eKuiper's defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class OptionError(Exception):
    pass


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def parse_duration_ms(v: Any, name: str = "duration") -> int:
    """A Go duration string (`1s`, `1m30s`, `500ms`) or a number of milliseconds."""
    if isinstance(v, bool):
        raise OptionError(f"invalid {name}: {v}")
    if isinstance(v, (int, float)):
        return int(v)
    if not isinstance(v, str):
        raise OptionError(f"invalid {name}: {v!r}")
    s = v.strip()
    if not s:
        return 0
    if s.lstrip("-").isdigit():
        return int(s)
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            raise OptionError(f"invalid {name}: {v}")
        total += float(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise OptionError(f"invalid {name}: {v}")
    return sign * int(total)


@dataclass
class RuleOptions:
    is_event_time: bool = False
    late_tolerance: int = 0  # ms
    send_error: bool = False
    send_meta_to_sink: bool = False
    send_nil_field: bool = False
    buffer_length: int = 1024
    qos: int = 0
    checkpoint_interval: int = 300_000
    concurrency: int = 1
    restart_strategy: dict = field(default_factory=dict)
    cron: str = ""
    duration: str = ""
    cron_datetime_range: list = field(default_factory=list)
    plan_optimize_strategy: dict = field(default_factory=dict)
    disable_buffer_full_discard: bool = False
    debug: bool = False
    raw: dict = field(default_factory=dict)

    _KEYS = {
        "iseventtime": ("is_event_time", bool),
        "latetolerance": ("late_tolerance", "duration"),
        "senderror": ("send_error", bool),
        "sendmetatosink": ("send_meta_to_sink", bool),
        "sendnilfield": ("send_nil_field", bool),
        "bufferlength": ("buffer_length", int),
        "qos": ("qos", int),
        "checkpointinterval": ("checkpoint_interval", "duration"),
        "concurrency": ("concurrency", int),
        "restartstrategy": ("restart_strategy", dict),
        "cron": ("cron", str),
        "duration": ("duration", str),
        "crondatetimerange": ("cron_datetime_range", list),
        "planoptimizestrategy": ("plan_optimize_strategy", dict),
        "disablebufferfulldiscard": ("disable_buffer_full_discard", bool),
        "debug": ("debug", bool),
    }

    @classmethod
    def from_dict(cls, options: dict | None, defaults: dict | None = None) -> RuleOptions:
        opts = cls()
        merged: dict = {}
        for src in (defaults or {}, options or {}):
            merged.update(src)
        opts.raw = dict(options or {})
        for key, value in merged.items():
            spec = cls._KEYS.get(key.lower())
            if spec is None:
                continue  # eKuiper ignores options it does not know
            attr, kind = spec
            if kind == "duration":
                value = parse_duration_ms(value, key)
            elif kind is bool:
                if not isinstance(value, bool):
                    raise OptionError(f"option {key} expects a bool but got {value!r}")
            elif kind is int:
                # a JSON 2.0 may arrive as a float, but 1.9 must not silently become 1
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float))
                    or (isinstance(value, float) and not value.is_integer())
                ):
                    raise OptionError(f"option {key} expects an integer but got {value!r}")
                value = int(value)
            elif not isinstance(value, kind):
                raise OptionError(f"option {key} expects {kind.__name__} but got {value!r}")
            setattr(opts, attr, value)
        if opts.qos not in (0, 1, 2):
            raise OptionError(f"invalid qos {opts.qos}: it must be 0, 1 or 2")
        if opts.buffer_length < 0:
            raise OptionError("bufferLength must not be negative")
        return opts

    @property
    def incremental_window(self) -> bool:
        return bool(self.plan_optimize_strategy.get("enableIncrementalWindow"))
