"""S3's bucket naming rules (general purpose buckets), as the Amazon S3 user guide lists them."""

from __future__ import annotations

import re
from typing import Final

_SHAPE: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP: Final = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_PREFIXES: Final = ("xn--", "sthree-", "amzn-s3-demo-")
_SUFFIXES: Final = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def valid_bucket_name(name: str) -> bool:
    """3-63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or
    digit; no two adjacent dots; not shaped like an IP address; none of the reserved prefixes and suffixes."""
    if not _SHAPE.fullmatch(name) or ".." in name or _IP.fullmatch(name):
        return False
    return not name.startswith(_PREFIXES) and not name.endswith(_SUFFIXES)
