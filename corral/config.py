"""Server configuration: defaults, then ``corral.toml``, then ``CORRAL_*`` variables, then flags.

Each later source overrides the earlier ones key by key, so an operator can keep a file and still change one
port from the command line. The keys are the long flag names of ``corral serve`` with ``_`` for ``-``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.broker.limits import Limits
from corral.oneclick.settings import OneClickSettings
from corral.rules.settings import RulesSettings
from corral.shadows.document import ShadowLimits

CONFIG_FILE_NAME = "corral.toml"
ENV_PREFIX = "CORRAL_"
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(Exception):
    """The configuration cannot be used as given."""


# The services rule actions write to, as ``[services.<name>]`` names them (external mode).
EXTERNAL_SERVICES = ("sqs", "sns", "dynamodb", "s3", "kinesis", "firehose", "cloudwatch", "logs", "lambda")
# The action types ``[actions.<action>]`` may point elsewhere (corral/rules/actions/external.py).
EXTERNAL_ACTIONS = (
    "sqs", "sns", "dynamoDB", "dynamoDBv2", "s3", "kinesis", "firehose", "cloudwatchMetric",
    "cloudwatchAlarm", "cloudwatchLogs",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExternalEndpoint:
    """An AWS-compatible endpoint that rule actions reach through boto3 instead of the embedded service:
    ``[services.<service>]`` (every action writing to that service) or ``[actions.<action>]`` (one action
    type). Credentials default to boto3's own chain (environment, shared files) when not given."""

    endpoint_url: str
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    # TLS verification: true, false, or the path of a CA bundle.
    verify: bool | str = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> ExternalEndpoint:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s): {', '.join(unknown)}")
        url = values.get("endpoint_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: endpoint_url must be an http:// or https:// URL, got {url!r}")
        for name in ("region", "access_key_id", "secret_access_key", "session_token"):
            if values.get(name) is not None and not isinstance(values[name], str):
                raise ConfigError(f"{where}: {name} must be a string")
        verify = values.get("verify", True)
        if not isinstance(verify, bool | str):
            raise ConfigError(f"{where}: verify must be true, false or a CA bundle path")
        return cls(**values)


@dataclass(slots=True)
class Config:
    data_dir: Path = Path("./corral-data")
    host: str = "0.0.0.0"
    mqtts_port: int = 8883
    https_port: int = 8443
    http_port: int = 8080
    insecure_mqtt_port: int | None = None
    hostnames: list[str] = field(default_factory=list)
    smtp_url: str | None = None
    # Where SNS sends SMS: POSTed as {"phoneNumber", "message"} JSON to this URL.
    sms_gateway_url: str | None = None
    database_url: str | None = None
    account_id: str = "000000000000"
    region: str = "us-east-1"
    log_level: str = "info"
    # How long a thing type must have been deprecated before DeleteThingType (AWS: 5 minutes).
    thing_type_deprecation_wait: int = 300
    limits: Limits = field(default_factory=Limits)
    # AWS's Device Shadow quotas ([shadow_limits] in corral.toml, CORRAL_SHADOW_LIMITS_* in the environment).
    shadow_limits: ShadowLimits = field(default_factory=ShadowLimits)
    # The rules engine ([rules] in corral.toml): republish loop limit, action retries, timeouts.
    rules: RulesSettings = field(default_factory=RulesSettings)
    # AWS IoT 1-Click's limits ([oneclick] in corral.toml): device templates per placement template, projects.
    oneclick: OneClickSettings = field(default_factory=OneClickSettings)
    # External mode: [services.<service>] and [actions.<action>] tables of ExternalEndpoint settings.
    external_services: dict[str, ExternalEndpoint] = field(default_factory=dict)
    external_actions: dict[str, ExternalEndpoint] = field(default_factory=dict)


_PORT_KEYS = {"mqtts_port", "https_port", "http_port", "insecure_mqtt_port"}
_STR_KEYS = {"host", "smtp_url", "sms_gateway_url", "database_url", "account_id", "region", "log_level"}


def _apply(config: Config, values: Mapping[str, Any], source: str) -> None:
    for key, value in values.items():
        key = key.replace("-", "_")
        if value is None:
            continue
        if key == "data_dir":
            config.data_dir = Path(str(value))
        elif key == "thing_type_deprecation_wait":
            try:
                config.thing_type_deprecation_wait = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{source}: {key} must be a number of seconds, got {value!r}") from None
        elif key in _PORT_KEYS:
            try:
                port = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{source}: {key} must be a port number, got {value!r}") from None
            if not 0 <= port <= 65535:
                raise ConfigError(f"{source}: {key} must be between 0 and 65535, got {port}")
            setattr(config, key, port)
        elif key in _STR_KEYS:
            setattr(config, key, str(value))
        elif key == "hostnames":
            names = value.split(",") if isinstance(value, str) else list(value)
            config.hostnames = [str(n).strip() for n in names if str(n).strip()]
        elif key == "limits":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: [limits] must be a table")
            merged = {f: getattr(config.limits, f) for f in config.limits.__slots__}
            merged.update(value)
            try:
                config.limits = Limits.from_mapping(merged)
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}") from None
        elif key == "shadow_limits":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: [shadow_limits] must be a table")
            config.shadow_limits = _shadow_limits(config.shadow_limits, value, source)
        elif key == "rules":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: [rules] must be a table")
            try:
                config.rules = RulesSettings.from_mapping(value, config.rules)
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}") from None
        elif key == "oneclick":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: [oneclick] must be a table")
            try:
                config.oneclick = OneClickSettings.from_mapping(value, config.oneclick)
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}") from None
        elif key in ("services", "actions"):
            _external(config, key, value, source)
        else:
            raise ConfigError(f"{source}: unknown setting {key!r}")
    if config.log_level.lower() not in LOG_LEVELS:
        levels = ", ".join(LOG_LEVELS)
        raise ConfigError(f"{source}: log_level must be one of {levels}, got {config.log_level!r}")
    if not (config.account_id.isascii() and config.account_id.isdigit() and len(config.account_id) == 12):
        raise ConfigError(f"{source}: account_id must be 12 digits, got {config.account_id!r}")


def _external(config: Config, key: str, value: Any, source: str) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise ConfigError(f"{source}: [{key}] must hold one table per {key[:-1]}")
    target = config.external_services if key == "services" else config.external_actions
    for name, settings in value.items():
        allowed = EXTERNAL_SERVICES if key == "services" else EXTERNAL_ACTIONS
        if name not in allowed:
            raise ConfigError(f"{source}: [{key}.{name}]: external mode is for {', '.join(allowed)}")
        target[name] = ExternalEndpoint.from_mapping(settings, f"{source}: [{key}.{name}]")


def _shadow_limits(current: ShadowLimits, values: Mapping[str, Any], source: str) -> ShadowLimits:
    known = {f.name for f in dataclasses.fields(ShadowLimits)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown shadow limit(s): {', '.join(unknown)}")
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{source}: shadow limit {name} must be a non-negative integer, got {value!r}")
    return dataclasses.replace(current, **values)


def _env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    tables = ("limits", "shadow_limits", "rules", "oneclick", "external_services", "external_actions")
    known = {f for f in Config.__slots__ if f not in tables}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key in known:
            values[key] = raw
        elif key.startswith(("limits_", "shadow_limits_")):
            table, _, limit = key.partition("limits_")
            table += "limits"
            try:
                number = int(raw)
            except ValueError:
                raise ConfigError(f"environment: {name} must be an integer, got {raw!r}") from None
            values.setdefault(table, {})[limit] = number
    return values


def load_config(
    flags: Mapping[str, Any],
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Builds the configuration from every source; ``flags`` holds only the flags given (others None)."""
    environ = os.environ if environ is None else environ
    config = Config()
    env = _env_values(environ)
    # The data dir decides where a default corral.toml may live, so find it first.
    data_dir = flags.get("data_dir") or env.get("data_dir")
    if config_file is None:
        for candidate in (Path(CONFIG_FILE_NAME), Path(data_dir or config.data_dir) / CONFIG_FILE_NAME):
            if candidate.is_file():
                config_file = candidate
                break
    if config_file is not None:
        try:
            with config_file.open("rb") as fh:
                _apply(config, tomllib.load(fh), str(config_file))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {config_file}: {exc}") from None
    _apply(config, env, "environment")
    _apply(config, flags, "command line")
    return config
