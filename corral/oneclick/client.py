"""The command line's side of the factory: ``POST /corral/oneclick/manufacture``, signed with the
administrator's key from the credentials file the server named in ``endpoints.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from corral.api.credentials import read_profile
from corral.oneclick.factory import ROUTE, SIGNING_NAME


class FactoryClientError(Exception):
    pass


def manufacture(
    data_dir: Path, product: str, count: int | None, device_ids: list[str], claim_code: str | None
) -> list[dict[str, Any]]:
    try:
        endpoints = json.loads((data_dir / "endpoints.json").read_text())
    except FileNotFoundError:
        raise FactoryClientError(
            f"{data_dir / 'endpoints.json'} not found: is `corral serve` running?"
        ) from None
    key = read_profile(Path(endpoints["credentials_file"]), endpoints["profile"])
    if key is None:
        raise FactoryClientError(f"no {endpoints['profile']} key in {endpoints['credentials_file']}")
    order: dict[str, Any] = {"product": product}
    if count is not None:
        order["count"] = count
    if device_ids:
        order["deviceIds"] = device_ids
    if claim_code is not None:
        order["claimCode"] = claim_code
    body = json.dumps(order).encode()
    url = f"http://{endpoints['http']}{ROUTE}"
    request = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    credentials = Credentials(key.access_key_id, key.secret_access_key)
    SigV4Auth(credentials, SIGNING_NAME, endpoints["region"]).add_auth(request)
    response = httpx.post(url, content=body, headers=dict(request.headers.items()), timeout=120)
    answer = response.json()
    if response.status_code != 200:
        raise FactoryClientError(f"{answer.get('code')}: {answer.get('message')}")
    devices: list[dict[str, Any]] = answer["devices"]
    return devices
