"""Configuration layering (defaults < corral.toml < CORRAL_* < flags) and the checks on each source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corral.broker.limits import Limits
from corral.config import Config, ConfigError, load_config
from corral.shadows.document import ShadowLimits


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # load_config looks for ./corral.toml and ./corral-data/corral.toml: keep those inside tmp_path.
    monkeypatch.chdir(tmp_path)


def toml(tmp_path: Path, text: str, name: str = "custom.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load(
    flags: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Config:
    return load_config(flags or {}, config_file=config_file, environ=environ or {})


def test_defaults() -> None:
    config = load()
    assert config == Config()
    assert config.data_dir == Path("./corral-data")
    assert config.host == "0.0.0.0"
    assert (config.mqtts_port, config.https_port, config.http_port) == (8883, 8443, 8080)
    assert config.insecure_mqtt_port is None
    assert config.hostnames == []
    assert config.smtp_url is None and config.database_url is None
    assert (config.account_id, config.region, config.log_level) == ("000000000000", "us-east-1", "info")
    assert config.limits == Limits()


def test_layering_order(tmp_path: Path) -> None:
    file = toml(
        tmp_path,
        'mqtts_port = 1001\nhttps_port = 1002\nhttp_port = 1003\nregion = "eu-west-1"\n',
    )
    env = {"CORRAL_HTTPS_PORT": "2002", "CORRAL_HTTP_PORT": "2003"}
    flags: dict[str, Any] = {"http_port": 3003, "mqtts_port": None, "host": None}
    config = load(flags, environ=env, config_file=file)
    assert config.mqtts_port == 1001  # file (a None flag means "not given")
    assert config.https_port == 2002  # environment over file
    assert config.http_port == 3003  # flag over environment
    assert config.region == "eu-west-1"  # file over default
    assert config.insecure_mqtt_port is None  # default
    assert config.host == "0.0.0.0"


def test_environment_values(tmp_path: Path) -> None:
    env = {
        "CORRAL_DATA_DIR": str(tmp_path / "d"),
        "CORRAL_HOST": "127.0.0.1",
        "CORRAL_INSECURE_MQTT_PORT": "0",
        "CORRAL_SMTP_URL": "smtp://localhost:2525",
        "CORRAL_DATABASE_URL": "postgresql://db/corral",
        "CORRAL_ACCOUNT_ID": "123456789012",
        "CORRAL_REGION": "ap-south-1",
        "CORRAL_LOG_LEVEL": "debug",
        "CORRAL_SOMETHING_ELSE": "ignored",  # other CORRAL_ variables (test switches, say) are not settings
        "HOST": "not ours",
    }
    config = load(environ=env)
    assert config.data_dir == tmp_path / "d"
    assert config.host == "127.0.0.1"
    assert config.insecure_mqtt_port == 0
    assert config.smtp_url == "smtp://localhost:2525"
    assert config.database_url == "postgresql://db/corral"
    assert config.account_id == "123456789012"
    assert config.region == "ap-south-1"
    assert config.log_level == "debug"


def test_flag_names_with_hyphens(tmp_path: Path) -> None:
    config = load({"mqtts-port": 0, "data-dir": str(tmp_path)})
    assert config.mqtts_port == 0
    assert config.data_dir == tmp_path


def test_toml_keys_with_hyphens(tmp_path: Path) -> None:
    config = load(config_file=toml(tmp_path, 'insecure-mqtt-port = 1883\ndatabase-url = "sqlite://x"\n'))
    assert config.insecure_mqtt_port == 1883
    assert config.database_url == "sqlite://x"


def test_toml_is_found_in_the_current_directory(tmp_path: Path) -> None:
    toml(tmp_path, "http_port = 4000\n", name="corral.toml")
    assert load().http_port == 4000


def test_toml_is_found_in_the_data_dir_given_by_flag_or_environment(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    toml(data_dir, "http_port = 4001\n", name="corral.toml")
    assert load({"data_dir": str(data_dir)}).http_port == 4001
    assert load(environ={"CORRAL_DATA_DIR": str(data_dir)}).http_port == 4001
    assert load().http_port == 8080  # the default data dir has no corral.toml


def test_toml_in_the_default_data_dir(tmp_path: Path) -> None:
    (tmp_path / "corral-data").mkdir()
    toml(tmp_path / "corral-data", "http_port = 4002\n", name="corral.toml")
    assert load().http_port == 4002


def test_explicit_config_file_wins_over_discovery(tmp_path: Path) -> None:
    toml(tmp_path, "http_port = 4000\n", name="corral.toml")
    assert load(config_file=toml(tmp_path, "http_port = 4003\n")).http_port == 4003


@pytest.mark.parametrize("content", ["http_port = ", "[limits\n", "x = 'unterminated"])
def test_unparsable_toml(tmp_path: Path, content: str) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(config_file=toml(tmp_path, content))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(config_file=tmp_path / "nope.toml")


@pytest.mark.parametrize("value", ["abc", "", "80.5", "-1", "65536", "100000"])
@pytest.mark.parametrize("key", ["mqtts_port", "https_port", "http_port", "insecure_mqtt_port"])
def test_bad_ports_from_the_environment(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key) as info:
        load(environ={f"CORRAL_{key.upper()}": value})
    assert "environment" in str(info.value)


@pytest.mark.parametrize("value", [-1, 65536, "x"])
def test_bad_port_flag(value: object) -> None:
    with pytest.raises(ConfigError, match="command line: mqtts_port"):
        load({"mqtts_port": value})


def test_bad_port_in_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="between 0 and 65535") as info:
        load(config_file=toml(tmp_path, "https_port = 70000\n"))
    assert "custom.toml" in str(info.value)


@pytest.mark.parametrize("port", [0, 1, 65535])
def test_port_bounds_are_inclusive(port: int) -> None:
    assert load({"https_port": port}).https_port == port
    assert load(environ={"CORRAL_HTTPS_PORT": str(port)}).https_port == port


def test_unknown_key_in_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'mqtt_prot'"):
        load(config_file=toml(tmp_path, "mqtt_prot = 1\n"))


def test_unknown_table_in_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'plugins'"):
        load(config_file=toml(tmp_path, "[plugins]\nenabled = true\n"))


def test_unknown_flag() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        load({"colour": "blue"})


def test_limits_table_merges_with_defaults(tmp_path: Path) -> None:
    config = load(config_file=toml(tmp_path, "[limits]\nkeep_alive_min = 1\ninflight_max = 10\n"))
    assert config.limits == Limits(keep_alive_min=1, inflight_max=10)


def test_limits_from_environment_merge_with_the_file(tmp_path: Path) -> None:
    file = toml(tmp_path, "[limits]\nkeep_alive_min = 1\ninflight_max = 10\n")
    env = {"CORRAL_LIMITS_INFLIGHT_MAX": "20", "CORRAL_LIMITS_QUEUED_MESSAGES_MAX": "5"}
    config = load(environ=env, config_file=file)
    assert config.limits == Limits(keep_alive_min=1, inflight_max=20, queued_messages_max=5)


def test_limits_from_flags_merge_too(tmp_path: Path) -> None:
    file = toml(tmp_path, "[limits]\nkeep_alive_min = 1\n")
    config = load({"limits": {"topic_max_slashes": 3}}, config_file=file)
    assert config.limits == Limits(keep_alive_min=1, topic_max_slashes=3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[limits]\nnot_a_limit = 1\n", "unknown limit"),
        ("[limits]\ninflight_max = -1\n", "non-negative"),
        ("[limits]\ninflight_max = true\n", "non-negative"),
        ("[limits]\ninflight_max = 1.5\n", "non-negative"),
        ("[limits]\ninflight_max = '10'\n", "non-negative"),
        ("limits = 3\n", "must be a table"),
    ],
)
def test_bad_limits_in_toml(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(config_file=toml(tmp_path, content))


def test_unknown_limit_in_environment() -> None:
    with pytest.raises(ConfigError, match="unknown limit"):
        load(environ={"CORRAL_LIMITS_NOT_A_LIMIT": "1"})


@pytest.mark.parametrize("value", ["abc", "", "1.5"])
def test_non_integer_limit_in_environment(value: str) -> None:
    with pytest.raises(ConfigError, match=r"(?i)inflight_max"):
        load(environ={"CORRAL_LIMITS_INFLIGHT_MAX": value})


def test_shadow_limits_from_the_file_and_the_environment(tmp_path: Path) -> None:
    file = toml(tmp_path, "[shadow_limits]\nmax_depth = 4\nin_flight_per_thing = 3\n")
    env = {
        "CORRAL_SHADOW_LIMITS_IN_FLIGHT_PER_THING": "7",
        "CORRAL_SHADOW_LIMITS_NAMED_SHADOWS_PER_THING": "2",
    }
    config = load(environ=env, config_file=file)
    assert config.shadow_limits == ShadowLimits(max_depth=4, in_flight_per_thing=7, named_shadows_per_thing=2)
    assert config.limits == Limits()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[shadow_limits]\nnot_a_limit = 1\n", "unknown shadow limit"),
        ("[shadow_limits]\nmax_depth = -1\n", "non-negative"),
        ("[shadow_limits]\nmax_depth = '6'\n", "non-negative"),
        ("shadow_limits = 3\n", "must be a table"),
    ],
)
def test_bad_shadow_limits_in_toml(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(config_file=toml(tmp_path, content))


@pytest.mark.parametrize("account_id", ["000000000000", "123456789012"])
def test_good_account_ids(account_id: str) -> None:
    assert load({"account_id": account_id}).account_id == account_id


@pytest.mark.parametrize(
    "account_id",
    [
        "",
        "12345678901",
        "1234567890123",
        "12345678901a",
        " 12345678901",
        "1234-5678-90",
        # str.isdigit() is True for these, but an account id is 12 ASCII digits.
        pytest.param("\uff10" * 12, id="fullwidth-digits"),
        pytest.param(
            "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662", id="arabic-indic"
        ),
    ],
)
def test_bad_account_ids(account_id: str) -> None:
    with pytest.raises(ConfigError, match="account_id"):
        load({"account_id": account_id})


def test_bad_account_id_from_environment_and_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment: account_id"):
        load(environ={"CORRAL_ACCOUNT_ID": "42"})
    with pytest.raises(ConfigError, match="account_id"):
        load(config_file=toml(tmp_path, 'account_id = "42"\n'))


def test_hostnames_from_a_comma_separated_string(tmp_path: Path) -> None:
    env = {"CORRAL_HOSTNAMES": "corral.example.com, 10.0.0.5,,  iot.local ,"}
    assert load(environ=env).hostnames == ["corral.example.com", "10.0.0.5", "iot.local"]
    file = toml(tmp_path, 'hostnames = "a.example, b.example"\n')
    assert load(config_file=file).hostnames == ["a.example", "b.example"]


def test_hostnames_from_a_list(tmp_path: Path) -> None:
    file = toml(tmp_path, 'hostnames = ["a.example", " b.example ", ""]\n')
    assert load(config_file=file).hostnames == ["a.example", "b.example"]
    assert load({"hostnames": ["c.example"]}, config_file=file).hostnames == ["c.example"]
