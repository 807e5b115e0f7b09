"""Calling a service from an action: the service's refusal becomes the action's failure.

An embedded service raises :class:`AWSServiceError` with AWS's code and message; an external one (boto3)
raises botocore's ``ClientError`` or a connection error. Either way the action fails with
``"{code}: {message}"`` and the resource it wrote to, which the runner retries and the error action reports.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from corral.errors import AWSServiceError
from corral.rules.actions.base import ActionError

T = TypeVar("T")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of an embedded service's error or of botocore's ``ClientError``."""
    cause = exc.__cause__ if isinstance(exc, ActionError) else exc
    if isinstance(cause, AWSServiceError):
        return cause.code
    if isinstance(cause, ClientError):
        code: str | None = (cause.response.get("Error") or {}).get("Code")
        return code
    return None


def missing(service: str, resource: str) -> ActionError:
    return ActionError(f"{service} is not available on this server", resource)


async def call(awaitable: Awaitable[T], resource: str) -> T:
    """Awaits a service call; a refusal or a transport failure is an :class:`ActionError`."""
    try:
        return await awaitable
    except ActionError:
        raise
    except AWSServiceError as exc:
        raise ActionError(f"{exc.code}: {exc.message}", resource) from exc
    except ClientError as exc:
        error: dict[str, Any] = exc.response.get("Error") or {}
        raise ActionError(f"{error.get('Code', 'Error')}: {error.get('Message', '')}", resource) from exc
    except BotoCoreError as exc:
        raise ActionError(f"{type(exc).__name__}: {exc}", resource) from exc
