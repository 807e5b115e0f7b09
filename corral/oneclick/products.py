"""What Corral's factory makes: the two products the 1-Click guide's appendix lists, and their id rules.

| product | device type | device id | claim |
|---|---|---|---|
| AWS IoT Enterprise Button | button | starts ``G030PM`` (serial number's first 6) | by device id only (1) |
| AT&T LTE-M Button | button | starts ``B9GHXT`` | by claim code (``C-…``) or device id |

(1) "Not all devices, including the AWS IoT Enterprise Button, can be claimed using a claim code".

The guide's ids are 16 characters (``G030PM0123456789``, ``G030PMXXXXXXXXXX``) of digits and capitals; the
projects API accepts device ids of 1 to 32 characters. Corral makes 16-character ids and accepts given ids
of 12 to 32 capitals and digits with the product's prefix. AWS IoT buttons whose serial numbers start
``G030JF``, ``G030MD`` or ``G030PT`` are not 1-Click devices (the appendix's note): no prefix here matches.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

DEVICE_TYPE_BUTTON = "button"
DEVICE_ID_LENGTH = 16
_DEVICE_ID = re.compile(r"^[A-Z0-9]{12,32}$")
_CLAIM_CODE = re.compile(r"^C-[A-Za-z0-9]{10,38}$")
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class Product:
    key: str  # what ``corral oneclick manufacture --product`` takes
    name: str  # the product type, as the guide names it
    device_type: str
    id_prefix: str
    claimable_by_code: bool
    rated_life: int  # clicks: the manufacturer's rating RemainingLife is computed from


PRODUCTS: dict[str, Product] = {
    "enterprise-button": Product(
        "enterprise-button", "AWS IoT Enterprise Button", DEVICE_TYPE_BUTTON, "G030PM", False, 2000
    ),
    "att-lte-m-button": Product(
        "att-lte-m-button", "AT&T LTE-M Button", DEVICE_TYPE_BUTTON, "B9GHXT", True, 2000
    ),
}


class ProductError(ValueError):
    """A device id or claim code the factory cannot use."""


def product(key: str) -> Product:
    try:
        return PRODUCTS[key]
    except KeyError:
        raise ProductError(f"unknown product {key!r} (one of: {', '.join(PRODUCTS)})") from None


def new_device_id(made: Product) -> str:
    """A fresh id: the product's prefix and random capitals and digits, 16 characters in all."""
    rest = DEVICE_ID_LENGTH - len(made.id_prefix)
    return made.id_prefix + "".join(secrets.choice(_ALPHABET) for _ in range(rest))


def check_device_id(made: Product, device_id: str) -> str:
    if not _DEVICE_ID.match(device_id):
        raise ProductError(f"device id {device_id!r} must be 12 to 32 capital letters and digits")
    if not device_id.startswith(made.id_prefix):
        raise ProductError(f"{made.name} device ids start with {made.id_prefix}, not {device_id[:6]!r}")
    return device_id


def check_claim_code(code: str) -> str:
    if not _CLAIM_CODE.match(code):
        raise ProductError(f"claim code {code!r} must be C- and 10 to 38 letters or digits")
    return code
