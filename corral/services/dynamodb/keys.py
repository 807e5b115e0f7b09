"""Key attributes as order-preserving ASCII text, so the store sorts and compares range keys as DynamoDB
orders them, with plain string comparison (byte-wise: COLLATE "C" on PostgreSQL, SQLite's default).

- S: the hex of its UTF-8 bytes (byte order, as DynamoDB orders strings); B: the hex of its bytes. A prefix's
  encoding is a prefix of the encoding, so ``begins_with`` is a range ``[enc(p), enc(p) + "g")``.
- N: ``"1"`` for zero; positives ``"2"`` + exponent+500 (three digits) + the significant digits; negatives
  ``"0"`` + 499-exponent + each digit's nines' complement + ``"~"`` (above every digit, so a longer
  negative mantissa sorts first). Equal numbers (``1``, ``1.0``) encode the same.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from corral.services.dynamodb.values import AttributeValue, parse_number, type_of

PREFIX_END = "g"
"""Above every hex digit: ``enc(p) + PREFIX_END`` bounds the encodings that start with ``enc(p)``."""


def encode_number(number: Decimal) -> str:
    if number.is_zero():
        return "1"
    with localcontext() as context:
        context.prec = 400
        sign, digits, _ = number.normalize().as_tuple()
    exponent = number.adjusted()
    mantissa = "".join(str(d) for d in digits).rstrip("0") or "0"
    if not sign:
        return f"2{exponent + 500:03d}{mantissa}"
    complement = "".join(str(9 - int(d)) for d in mantissa)
    return f"0{499 - exponent:03d}{complement}~"


def encode_key(value: AttributeValue) -> str:
    kind = type_of(value)
    content = value[kind]
    if kind == "S":
        return str(content).encode("utf-8").hex()
    if kind == "B":
        return bytes(content).hex()
    if kind == "N":
        return encode_number(parse_number(content))
    raise ValueError(f"{kind} is not a key type")
