from __future__ import annotations

from pathlib import Path

import pytest

from corral.config import ConfigError, load_config
from corral.rules.settings import RulesSettings


def test_defaults() -> None:
    settings = RulesSettings()
    assert (settings.max_republish_hops, settings.action_retries) == (8, 3)


def test_rules_table_in_corral_toml(tmp_path: Path) -> None:
    path = tmp_path / "corral.toml"
    path.write_text("[rules]\nmax_republish_hops = 3\nretry_base_delay = 0.5\n")
    config = load_config({}, config_file=path, environ={})
    assert config.rules.max_republish_hops == 3 and config.rules.retry_base_delay == 0.5
    assert config.rules.action_retries == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[rules]\nloops = 1\n", r"unknown \[rules\] setting\(s\): loops"),
        ("[rules]\nmax_republish_hops = 1.5\n", "must be an integer"),
        ("[rules]\naction_retries = -1\n", "must not be negative"),
        ("[rules]\nhttp_timeout = 'slow'\n", "must be a number"),
        ("rules = 3\n", r"\[rules\] must be a table"),
    ],
)
def test_rules_table_refused(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "corral.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_config({}, config_file=path, environ={})
