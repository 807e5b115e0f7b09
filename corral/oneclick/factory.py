"""Corral's 1-Click factory: devices made with their id, a certificate and key from the Corral CA, a rated
life and an optional claim code, belonging to no account.

Manufacturing is not an AWS operation, so it is not in the AWS models: it is ``POST /corral/oneclick/
manufacture`` on the running server, SigV4-signed (service ``corral``) with the administrator's key, the one
key ``corral serve`` writes to the ``corral`` profile (functions' keys are refused). It goes through the
server because the server owns the CA's key, the registry (which must admit the new certificates at once)
and the store; ``corral oneclick manufacture`` signs and sends it.

Each device's certificate (subject ``CN={device id}``) is registered ACTIVE in the registry with the
``Corral1ClickDevice`` policy attached, which lets a certificate connect as client id = its common name and
publish on ``iotbutton/{its common name}`` and nothing else. The certificate and key are also written to
``DIR/oneclick/devices/{device id}/`` (the device's flash), where ``corral button press`` finds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from corral.api.access_keys import ADMIN_USER, AccessKeys
from corral.auth.ca import CorralPKI, issue_client_certificate
from corral.auth.sigv4 import SigV4Error, verify
from corral.oneclick.devices import DeviceService, NewDevice
from corral.oneclick.products import ProductError, check_claim_code, check_device_id, new_device_id, product
from corral.registry.errors import ResourceAlreadyExists

ROUTE = "/corral/oneclick/manufacture"
SIGNING_NAME = "corral"
POLICY_NAME = "Corral1ClickDevice"
MAX_BATCH = 1000
DEVICES_DIR = Path("oneclick") / "devices"
CERT_FILE, KEY_FILE = "certificate.pem.crt", "private.pem.key"

RegistryHandler = Callable[[str], Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None]


def device_policy(region: str, account_id: str) -> str:
    prefix = f"arn:aws:iot:{region}:{account_id}"
    name = "${iot:Certificate.Subject.CommonName}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{prefix}:client/{name}"},
                {"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{prefix}:topic/iotbutton/{name}"},
            ],
        }
    )


def device_folder(data_dir: Path, device_id: str) -> Path:
    return data_dir / DEVICES_DIR / device_id


class FactoryError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Factory:
    devices: DeviceService
    pki: CorralPKI
    registry: RegistryHandler
    data_dir: Path
    keys: AccessKeys

    async def manufacture(
        self, product_key: str, count: int | None, device_ids: list[str], claim_code: str | None
    ) -> list[dict[str, Any]]:
        try:
            made = product(product_key)
            if claim_code is not None:
                check_claim_code(claim_code)
            ids = [check_device_id(made, i) for i in device_ids]
        except ProductError as exc:
            raise FactoryError(str(exc)) from None
        if ids and count is not None:
            raise FactoryError("give a count or device ids, not both")
        if not ids:
            wanted = 1 if count is None else count
            if not 1 <= wanted <= MAX_BATCH:
                raise FactoryError(f"count must be between 1 and {MAX_BATCH}")
            ids = [new_device_id(made) for _ in range(wanted)]
        if len(set(ids)) != len(ids):
            raise FactoryError("a device id was given twice")
        for device_id in ids:
            if await self.devices.exists(device_id):
                raise FactoryError(f"device {device_id} already exists", 409)
        await self._ensure_policy()
        made_devices: list[dict[str, Any]] = []
        records: list[NewDevice] = []
        for device_id in ids:
            cert_pem, key_pem = await asyncio.to_thread(issue_client_certificate, self.pki, device_id)
            assert key_pem is not None
            registered = await self._call(
                "RegisterCertificateWithoutCA", {"certificatePem": cert_pem.decode(), "status": "ACTIVE"}
            )
            await self._call(
                "AttachPolicy", {"policyName": POLICY_NAME, "target": registered["certificateArn"]}
            )
            folder = device_folder(self.data_dir.resolve(), device_id)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / CERT_FILE).write_bytes(cert_pem)
            key_file = folder / KEY_FILE
            key_file.write_bytes(key_pem)
            os.chmod(key_file, 0o600)
            records.append(NewDevice(device_id, registered["certificateId"]))
            made_devices.append(
                {
                    "deviceId": device_id,
                    "deviceType": made.device_type,
                    "productType": made.name,
                    "product": made.key,
                    "ratedLife": made.rated_life,
                    **({"claimCode": claim_code} if claim_code is not None else {}),
                    "certificateId": registered["certificateId"],
                    "certificateArn": registered["certificateArn"],
                    "certificatePem": cert_pem.decode(),
                    "privateKey": key_pem.decode(),
                    "certificateFile": str(folder / CERT_FILE),
                    "keyFile": str(key_file),
                }
            )
        await self.devices.add_devices(made, records, claim_code)
        return made_devices

    async def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = self.registry(operation)
        assert handler is not None, f"the registry has no {operation}"
        return await handler(params)

    async def _ensure_policy(self) -> None:
        document = device_policy(self.devices.region, self.devices.account_id)
        with contextlib.suppress(ResourceAlreadyExists):
            await self._call("CreatePolicy", {"policyName": POLICY_NAME, "policyDocument": document})

    async def endpoint(self, request: Request) -> JSONResponse:
        """``POST /corral/oneclick/manufacture`` with ``{"product", "count" | "deviceIds", "claimCode"}``."""
        body = await request.body()
        scope = request.scope
        try:
            signed = verify(
                request.method,
                scope.get("raw_path") or scope["path"].encode(),
                scope.get("query_string", b""),
                scope["headers"],
                body,
                self.keys.secret_for,
                datetime.now(UTC),
                expected_service=SIGNING_NAME,
            )
        except SigV4Error as exc:
            return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)
        owner = self.keys.owner(signed.access_key_id)
        if owner is None or owner.user_name != ADMIN_USER:
            return JSONResponse(
                {"code": "AccessDeniedException", "message": "only the administrator's key"}, 403
            )
        try:
            order = json.loads(body or b"{}")
            if not isinstance(order, dict):
                raise FactoryError("the body must be a JSON object")
            devices = await self.manufacture(
                str(order.get("product", "")),
                order.get("count"),
                [str(i) for i in order.get("deviceIds") or []],
                order.get("claimCode"),
            )
        except ValueError:
            return JSONResponse({"code": "InvalidRequestException", "message": "the body is not JSON"}, 400)
        except FactoryError as exc:
            code = "ResourceConflictException" if exc.status == 409 else "InvalidRequestException"
            return JSONResponse({"code": code, "message": exc.message}, exc.status)
        return JSONResponse({"devices": devices})
