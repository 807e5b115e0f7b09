"""Function names and ARNs as Lambda reads them: ``f``, ``f:$LATEST``, ``ACCOUNT:function:f`` and
``arn:aws:lambda:REGION:ACCOUNT:function:f[:QUALIFIER]``."""

from __future__ import annotations

import re

from corral.functions.errors import ResourceNotFound, function_not_found

NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_REFERENCE = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)


def function_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account_id}:function:{name}"


def resolve(reference: str, region: str, account_id: str, qualifier: str | None = None) -> str:
    """The function name ``reference`` means in this account and region, or ResourceNotFound."""
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise function_not_found(reference)
    name = match["name"]
    qualifier = match["qualifier"] or qualifier
    arn = function_arn(region, account_id, name)
    if (match["region"] or region) != region or (match["account"] or account_id) != account_id:
        raise function_not_found(reference)
    if qualifier not in (None, "$LATEST"):
        raise ResourceNotFound(f"Function not found: {arn}:{qualifier}")
    return name
