"""What both 1-Click services share: ARNs, page tokens, epoch-second dates."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from corral.oneclick.errors import InvalidRequest

DEFAULT_PAGE = 100


def arn(region: str, account_id: str, resource: str) -> str:
    return f"arn:aws:iot1click:{region}:{account_id}:{resource}"


def arn_resource(value: str, region: str, account_id: str, kind: str) -> str | None:
    """The name in ``arn:aws:iot1click:{region}:{account}:{kind}/{name}`` of this account, else None."""
    prefix = arn(region, account_id, f"{kind}/")
    if not value.startswith(prefix) or len(value) == len(prefix):
        return None
    return value[len(prefix) :]


def page_bounds(params: dict[str, Any], token_member: str, size_member: str) -> tuple[int, int]:
    """(offset, size) from an opaque next token and a page size."""
    size = int(params.get(size_member) or DEFAULT_PAGE)
    token = params.get(token_member)
    if not token:
        return 0, size
    try:
        offset = int(base64.urlsafe_b64decode(str(token).encode()).decode())
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidRequest("The next token is not valid") from None
    if offset < 0:
        raise InvalidRequest("The next token is not valid")
    return offset, size


def next_token(offset: int, size: int, total: int) -> str | None:
    following = offset + size
    return base64.urlsafe_b64encode(str(following).encode()).decode() if following < total else None


def epoch_seconds(value: float) -> int:
    """Project and placement dates are whole epoch seconds (``"createdDate": 1563483100``)."""
    return int(value)
