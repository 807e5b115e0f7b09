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


if __name__ == "__main__":  # pragma: no cover
    main()
