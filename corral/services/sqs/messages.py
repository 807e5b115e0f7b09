"""Pure message rules of SQS: checksums, message attribute validation, body characters and size.

The MD5 of message attributes is AWS's documented digest: for each attribute in name order, the UTF-8 name,
then the data type, each preceded by its length as a 4-byte big-endian integer, then a transport byte (1 for
string values, 2 for binary), then the value's length and bytes. SDKs that check it (the Java SDK, for one)
compare it with their own computation.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Mapping
from typing import Any

from corral.services.sqs.errors import InvalidMessageContents, InvalidParameterValue

MAX_ATTRIBUTES = 10
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
# XML 1.0's characters, which is what SQS accepts in bodies and string values.
_INVALID_CHAR = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_of_body(body: str) -> str:
    return md5_hex(body.encode())


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """The digest of message attributes in their API form (``BinaryValue`` as bytes)."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        for text in (name, value["DataType"]):
            encoded = text.encode()
            digest.update(struct.pack(">I", len(encoded)) + encoded)
        if value.get("StringValue") is not None:
            data, transport = value["StringValue"].encode(), 1
        else:
            data, transport = bytes(value.get("BinaryValue") or b""), 2
        digest.update(bytes([transport]) + struct.pack(">I", len(data)) + data)
    return digest.hexdigest()


def check_body(body: str) -> None:
    if not body:
        raise MissingBody()
    if _INVALID_CHAR.search(body):
        raise InvalidMessageContents(
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
            "#xE000 to #xFFFD | #x10000 to #x10FFFF"
        )


class MissingBody(InvalidParameterValue):
    code = "MissingParameter"

    def __init__(self) -> None:
        super().__init__("The request must contain the parameter MessageBody.")


def validate_attributes(attributes: Mapping[str, Mapping[str, Any]], what: str = "Message") -> None:
    """AWS's rules for ``MessageAttributes`` (and ``MessageSystemAttributes``)."""
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_ATTRIBUTES}]."
        )
    for name, value in attributes.items():
        if not _NAME.match(name) or name.lower().startswith(("aws.", "amazon.")) or ".." in name:
            raise InvalidParameterValue(f"{what} attribute name '{name}' is invalid.")
        data_type = value.get("DataType")
        if not data_type:
            raise InvalidParameterValue(
                f"The message attribute '{name}' must contain a non-empty attribute type."
            )
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise InvalidParameterValue(
                f"The type of message attribute '{name}' is invalid. "
                "You must use only the following supported "
                "type prefixes: Binary, Number, String."
            )
        string, binary = value.get("StringValue"), value.get("BinaryValue")
        if base == "Binary":
            if binary is None or len(binary) == 0:
                raise InvalidParameterValue(
                    f"The message attribute '{name}' must contain a non-empty value of type 'Binary'."
                )
        else:
            if not string:
                raise InvalidParameterValue(
                    f"The message attribute '{name}' must contain a non-empty message attribute value for "
                    f"message attribute type '{base}'."
                )
            if _INVALID_CHAR.search(string):
                raise InvalidParameterValue(f"The message attribute '{name}' contains invalid characters.")
            if base == "Number" and not NUMBER.match(string):
                raise InvalidParameterValue(
                    f"Can't cast the value of message (user) attribute '{name}' to a number."
                )


def attributes_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    size = 0
    for name, value in attributes.items():
        size += len(name.encode()) + len(value["DataType"].encode())
        if value.get("StringValue") is not None:
            size += len(value["StringValue"].encode())
        else:
            size += len(value.get("BinaryValue") or b"")
    return size


def to_store(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Attributes as JSON can hold them: binary values in base64."""
    stored: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        entry = {"DataType": value["DataType"]}
        if value.get("StringValue") is not None:
            entry["StringValue"] = value["StringValue"]
        else:
            entry["BinaryValue"] = base64.b64encode(bytes(value.get("BinaryValue") or b"")).decode()
        stored[name] = entry
    return stored


def from_store(stored: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for name, entry in stored.items():
        value: dict[str, Any] = {"DataType": entry["DataType"]}
        if "StringValue" in entry:
            value["StringValue"] = entry["StringValue"]
        else:
            value["BinaryValue"] = base64.b64decode(entry["BinaryValue"])
        result[name] = value
    return result


def select_attributes(
    attributes: Mapping[str, dict[str, Any]], names: list[str] | None
) -> dict[str, dict[str, Any]]:
    """The attributes ReceiveMessage returns for ``MessageAttributeNames``: ``All`` or ``.*``, names,
    ``prefix.*``."""
    if not names:
        return {}
    if any(n in ("All", ".*") for n in names):
        return dict(attributes)
    chosen: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        for wanted in names:
            if name == wanted or (wanted.endswith(".*") and name.startswith(wanted[:-1])):
                chosen[name] = value
                break
    return chosen
