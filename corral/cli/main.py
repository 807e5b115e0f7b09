"""The ``corral`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import click

from corral.config import ConfigError, load_config

DEFAULT_DATA_DIR = "./corral-data"


def _data_dir(value: str | None) -> Path:

    return Path(value or os.environ.get("CORRAL_DATA_DIR") or DEFAULT_DATA_DIR)


@click.group()
def main() -> None:
    """Corral: a self-hosted AWS IoT Core and AWS IoT 1-Click."""


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where Corral keeps its state.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True), help="A corral.toml.")
@click.option("--host", help="Address the MQTT and HTTPS listeners bind (default: all).")
@click.option("--mqtts-port", type=int, help="MQTT over TLS with client certificates (default 8883, 0: any).")
@click.option("--https-port", type=int, help="HTTPS and MQTT over WebSocket (default 8443, 0: any).")
@click.option("--http-port", type=int, help="Plain HTTP on loopback (default 8080, 0: any).")
@click.option("--insecure-mqtt-port", type=int, help="MQTT without TLS or authentication, loopback only.")
@click.option("--hostname", "hostnames", multiple=True, help="Extra name for the server certificate.")
@click.option("--smtp-url", help="SMTP server for e-mail notifications.")
@click.option("--database-url", help="Database (default: SQLite in the data dir).")
@click.option("--account-id", help="The AWS account id Corral answers as (12 digits).")
@click.option("--region", help="The AWS region Corral answers as.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
def serve(config_file: str | None, hostnames: tuple[str, ...], **flags: Any) -> None:
    """Run the broker and the API until SIGTERM or SIGINT."""
    if hostnames:
        flags["hostnames"] = list(hostnames)
    try:
        config = load_config(flags, config_file=Path(config_file) if config_file else None)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations report themselves only on trouble
    from corral.server import serve as run_server

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_server(config, stop)

    import uvloop

    try:
        uvloop.run(run())
    except OSError as exc:
        raise click.ClickException(f"cannot start: {exc}") from None


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False), help="The server's data dir.")
def env(data_dir: str | None) -> None:
    """Print the shell exports that point the AWS CLI and SDKs at this Corral."""
    import json

    endpoints_file = _data_dir(data_dir) / "endpoints.json"
    try:
        endpoints = json.loads(endpoints_file.read_text())
    except FileNotFoundError:
        raise click.ClickException(f"{endpoints_file} not found: is `corral serve` running?") from None
    exports = {
        "AWS_ENDPOINT_URL": f"http://{endpoints['http']}",
        "AWS_SHARED_CREDENTIALS_FILE": endpoints["credentials_file"],
        "AWS_PROFILE": endpoints["profile"],
        "AWS_DEFAULT_REGION": endpoints["region"],
        # The 1-Click services' own variables (AWS_ENDPOINT_URL covers them too, but a user who points the
        # rest of the CLI elsewhere keeps 1-Click here); their models: `corral aws-models install`.
        "AWS_ENDPOINT_URL_IOT1CLICK_DEVICES": f"http://{endpoints['http']}",
        "AWS_ENDPOINT_URL_IOT1CLICK_PROJECTS": f"http://{endpoints['http']}",
    }
    for name, value in exports.items():
        click.echo(f"export {name}={shlex.quote(str(value))}")


@main.group()
def functions() -> None:
    """Local functions (the Lambda API): their logs."""


@functions.command("logs")
@click.argument("name")
@click.option("--data-dir", type=click.Path(file_okay=False), help="The server's data dir.")
def function_logs(name: str, data_dir: str | None) -> None:
    """Print a function's log: START, its output, END and REPORT lines of each invocation, oldest first."""
    from corral.functions.logs import log_files

    files = log_files(_data_dir(data_dir), name)
    if not files:
        raise click.ClickException(f"no log for function {name!r} in {_data_dir(data_dir)}")
    for path in files:
        sys.stdout.buffer.write(path.read_bytes())
    sys.stdout.flush()


@main.group("aws-models")
def aws_models() -> None:
    """AWS service models today's aws CLI and boto3 no longer ship (the two 1-Click services)."""


@aws_models.command("install")
@click.option(
    "--print-data-path",
    is_flag=True,
    help="Install into DATA_DIR/aws-models, not ~/.aws/models, and print that folder (for AWS_DATA_PATH).",
)
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where the downloaded wheel is cached.")
def aws_models_install(print_data_path: bool, data_dir: str | None) -> None:
    """Put the iot1click-devices and iot1click-projects models of botocore 1.35.93 (fetched with pip) where
    the aws CLI and boto3 find them."""
    from corral.oneclick.aws_models import USER_MODELS, ModelsError, install

    base = _data_dir(data_dir)
    target = (base / "aws-models").resolve() if print_data_path else USER_MODELS
    try:
        written = install(target, base / "cache" / "pip")
    except ModelsError as exc:
        raise click.ClickException(str(exc)) from None
    if print_data_path:
        click.echo(str(target))
    else:
        for path in written:
            click.echo(f"installed {path}", err=True)


@main.group()
def oneclick() -> None:
    """AWS IoT 1-Click: Corral's device factory."""


@oneclick.command("manufacture")
@click.option(
    "--product",
    required=True,
    type=click.Choice(["enterprise-button", "att-lte-m-button"]),
    help="What to make.",
)
@click.option("--count", type=int, help="How many devices, with new ids (default 1).")
@click.option("--device-id", "device_ids", multiple=True, help="Make a device with this id (repeatable).")
@click.option("--claim-code", help="One claim code (C-...) for the whole batch.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="The server's data dir.")
def oneclick_manufacture(
    product: str, count: int | None, device_ids: tuple[str, ...], claim_code: str | None, data_dir: str | None
) -> None:
    """Make unclaimed devices on the running server and print them as JSON (with certificates and keys)."""
    import json

    from corral.oneclick.client import FactoryClientError, manufacture

    if count is not None and device_ids:
        raise click.UsageError("give --count or --device-id, not both")
    try:
        devices = manufacture(_data_dir(data_dir), product, count, list(device_ids), claim_code)
    except FactoryClientError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(devices, indent=2))


@main.group()
def button() -> None:
    """A simulated AWS IoT Enterprise Button."""


@button.command("press")
@click.argument("device_id")
@click.option("--single", "click_type", flag_value="SINGLE", default=True, help="One short press (default).")
@click.option("--double", "click_type", flag_value="DOUBLE", help="Two quick presses.")
@click.option("--long", "click_type", flag_value="LONG", help="A long press.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="The server's data dir.")
def button_press(device_id: str, click_type: str, data_dir: str | None) -> None:
    """Press the button: connect with its certificate, publish the click, print the LED it shows."""
    from corral.oneclick.button import press

    result = press(_data_dir(data_dir), device_id, click_type)
    click.echo(result.led.describe())
    click.echo(f"  {result.detail}", err=True)
    if not result.ok:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
