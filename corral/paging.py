"""The ``nextToken`` every paged list answers with: the key the next page starts after, base64url-encoded.

Opaque to callers, as AWS's are; each service maps a token it cannot read (:class:`BadToken`) to its own AWS
error.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

_FROM_URLSAFE: Final = str.maketrans("-_", "+/")


class BadToken(ValueError):
    """A token this server did not make."""


def encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_token(token: str | None) -> str | None:
    """The key a token continues after; ``None`` for the first page (no token)."""
    if not token:
        return None
    try:
        return base64.b64decode(token.translate(_FROM_URLSAFE), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise BadToken(token) from exc
