"""The Python runtime of a Corral function worker (see ``__init__.py`` for the protocol).

Runs as a script with the server's interpreter: loads ``_HANDLER`` from ``LAMBDA_TASK_ROOT``, then answers
requests one at a time with ``handler(event, context)`` as AWS Lambda's Python runtime calls it.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, BinaryIO

Handler = Callable[[Any, Any], Any]


class HandlerLoadError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class CognitoIdentity:
    """``context.identity``: set only for calls through the AWS Mobile SDK, so its fields are None here."""

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class Client:
    def __init__(self, values: dict[str, Any]) -> None:
        self.installation_id = values.get("installation_id")
        self.app_title = values.get("app_title")
        self.app_version_name = values.get("app_version_name")
        self.app_version_code = values.get("app_version_code")
        self.app_package_name = values.get("app_package_name")


class ClientContext:
    """``context.client_context``: what the caller sent in ``X-Amz-Client-Context`` (base64 JSON)."""

    def __init__(self, values: dict[str, Any]) -> None:
        client = values.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = values.get("custom")
        self.env = values.get("env")


class LambdaContext:
    """The second argument of a handler, with the fields and method AWS's Python runtime gives it."""

    def __init__(self, request: dict[str, Any]) -> None:
        env = os.environ
        self.aws_request_id: str = request["id"]
        self.invoked_function_arn: str = request["arn"]
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        # A string, as AWS's runtime reads it from the environment.
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = CognitoIdentity()
        context = request.get("client_context")
        self.client_context = ClientContext(context) if isinstance(context, dict) else None
        self._deadline_ms: int = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
            f"identity={self.identity}])"
        )


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = RequestIdFilter.request_id
        return True


def install_logging() -> None:
    """The root logger writes as Lambda's does: ``[LEVEL]\\ttime\\trequest id\\tmessage``."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)


def load_handler(spec: str) -> Handler:
    """``module.function`` (the module may be a path with ``/``), with AWS's error types."""
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise HandlerLoadError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        message = f"Unable to import module '{module_name}': {exc}"
        raise HandlerLoadError("Runtime.ImportModuleError", message) from None
    except SyntaxError as exc:
        message = f"Syntax error in module '{module_name}': {exc}"
        raise HandlerLoadError("Runtime.UserCodeSyntaxError", message) from None
    function = getattr(module, function_name, None)
    if function is None:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise HandlerLoadError("Runtime.HandlerNotFound", message)
    if not callable(function):
        raise HandlerLoadError("Runtime.HandlerNotFound", f"Handler '{function_name}' is not callable")
    return function  # type: ignore[no-any-return]


def user_frames(tb: TracebackType | None) -> list[str]:
    """The traceback without this bootstrap's frames, formatted as AWS's ``stackTrace``."""
    frames = traceback.extract_tb(tb)
    own = os.path.abspath(__file__)
    kept = [frame for frame in frames if os.path.abspath(frame.filename) != own]
    return traceback.format_list(kept)


def error_payload(exc: BaseException, request_id: str, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": user_frames(exc.__traceback__),
    }


def log_error(payload: dict[str, Any]) -> None:
    frames = "".join(payload["stackTrace"])
    trace = f"\nTraceback (most recent call last):\n{frames}" if frames else ""
    sys.stdout.write(f"[ERROR] {payload['errorType']}: {payload['errorMessage']}{trace}\n")


class Channel:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


def end_of_log(marker: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, b"\0\0corral:" + marker.encode() + b"\0\n")


def invoke(handler: Handler, request: dict[str, Any]) -> tuple[bool, str, bool]:
    """(ok, body JSON text, retire the worker)."""
    request_id = request["id"]
    RequestIdFilter.request_id = request_id
    try:
        event = json.loads(request["payload"])
        result = handler(event, LambdaContext(request))
    except MemoryError as exc:
        payload = error_payload(exc, request_id, "Runtime.OutOfMemory")
        log_error(payload)
        return False, json.dumps(payload), True
    except Exception as exc:
        payload = error_payload(exc, request_id)
        log_error(payload)
        return False, json.dumps(payload), False
    try:
        return True, json.dumps(result), False
    except (TypeError, ValueError) as exc:
        payload = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
        log_error(payload)
        return False, json.dumps(payload), False


def main() -> None:
    channel = Channel(int(os.environ.pop("_CORRAL_RESPONSE_FD")))
    requests: BinaryIO = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    os.chdir(task_root)
    sys.path[0] = task_root  # instead of this bootstrap's folder
    install_logging()
    started = time.monotonic()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except HandlerLoadError as exc:
        payload = {
            "errorMessage": exc.message,
            "errorType": exc.error_type,
            "requestId": "",
            "stackTrace": [],
        }
        log_error(payload)
        end_of_log("init")
        channel.send({"type": "init", "init_ms": 0.0, "error": json.dumps(payload)})
        return
    except Exception as exc:
        payload = error_payload(exc, "")
        log_error(payload)
        end_of_log("init")
        channel.send({"type": "init", "init_ms": 0.0, "error": json.dumps(payload)})
        return
    init_ms = (time.monotonic() - started) * 1000
    end_of_log("init")
    channel.send({"type": "init", "init_ms": init_ms, "error": None})
    for line in requests:
        request = json.loads(line)
        ok, body, retire = invoke(handler, request)
        end_of_log(request["id"])
        max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = {"type": "result", "id": request["id"], "ok": ok, "body": body, "max_rss_kb": max_rss_kb}
        channel.send(result)
        if retire:
            return


if __name__ == "__main__":
    main()
