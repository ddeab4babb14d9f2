"""Configuration loading, and the documentation check for every key."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrokoth.config import DEFAULTS, Config, ConfigError, flatten

DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


@pytest.mark.parametrize("key", flatten(DEFAULTS))
def test_every_config_key_is_documented(key):
    assert f"`{key}`" in DOC.read_text(), f"{key} is missing from docs/configuration.md"


def test_file_values_override_defaults(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("basic:\n  restPort: 9999\nrule:\n  sendError: true\n")
    config = Config.load(path, data_dir=tmp_path)
    assert config.get("basic.restPort") == 9999
    assert config.get("basic.restIp") == "0.0.0.0"
    assert config.rule_defaults["sendError"] is True
    assert config.data_dir == tmp_path.resolve()


def test_unknown_keys_are_rejected(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("basic:\n  restPrt: 1\n")
    with pytest.raises(ConfigError, match="basic.restPrt"):
        Config.load(path)


def test_bad_yaml_names_the_file(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("basic: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Config.load(path)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        Config.load(tmp_path / "missing.yaml")
