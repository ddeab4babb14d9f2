"""Server configuration: a YAML file in eKuiper's `kuiper.yaml` shape, with defaults.

Every key is documented in docs/configuration.md; a test checks that the two agree.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "basic": {
        "restIp": "0.0.0.0",
        "restPort": 9081,
        "authentication": False,
        "ignoreCase": False,
        "timezone": "",
        "logLevel": "info",
        "httpServerIp": "0.0.0.0",
        "httpServerPort": 10081,
    },
    "store": {
        "type": "sqlite",
        "redisUrl": "redis://127.0.0.1:6379/0",
    },
    "sink": {
        "enableCache": False,
        "memoryCacheThreshold": 1024,
        "maxDiskCache": 1024000,
        "bufferPageSize": 256,
        "resendInterval": 0,
        "cleanCacheAtStop": False,
    },
    "rule": {
        "sendError": False,
        "qos": 0,
        "checkpointInterval": "300s",
        "bufferLength": 1024,
        "lateTolerance": "1s",
        "concurrency": 1,
        "sendMetaToSink": False,
        "sendNilField": False,
    },
}


class ConfigError(Exception):
    pass


def _merge(base: dict, override: dict, path: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in out:
            raise ConfigError(f"unknown configuration key {path}{key}")
        if isinstance(out[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"configuration key {path}{key} must be a mapping")
            out[key] = _merge(out[key], value, f"{path}{key}.")
        else:
            out[key] = value
    return out


class Config:
    def __init__(self, values: dict | None = None, *, data_dir: str | os.PathLike | None = None):
        self.values = _merge(DEFAULTS, values or {})
        self.data_dir = Path(data_dir or os.environ.get("ARROKOTH_DATA_DIR", "data")).resolve()

    @classmethod
    def load(cls, path: str | os.PathLike | None, *, data_dir: str | os.PathLike | None = None) -> Config:
        values: dict = {}
        if path is not None:
            import yaml

            try:
                with open(path, encoding="utf-8") as f:
                    values = yaml.safe_load(f) or {}
            except OSError as e:
                raise ConfigError(f"cannot read {path}: {e.strerror}") from None
            except yaml.YAMLError as e:
                raise ConfigError(f"{path} is not valid YAML: {e}") from None
            if not isinstance(values, dict):
                raise ConfigError(f"{path} must hold a mapping")
        return cls(values, data_dir=data_dir)

    def get(self, dotted: str) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            node = node[part]
        return node

    @property
    def rule_defaults(self) -> dict:
        return dict(self.values["rule"])


def flatten(values: dict, prefix: str = "") -> list[str]:
    """Every leaf key as `section.key`, for the documentation check."""
    out = []
    for k, v in values.items():
        if isinstance(v, dict):
            out.extend(flatten(v, f"{prefix}{k}."))
        else:
            out.append(f"{prefix}{k}")
    return out
