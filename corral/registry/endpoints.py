"""DescribeEndpoint: where devices and applications reach this Corral.

AWS answers a hostname (devices then use port 8883 or 443). Corral's ports are its own, so the address is
``host:port``: the MQTT listener for the data endpoints, the HTTPS listener for the others.
"""

from __future__ import annotations

from typing import Any

from corral.registry.errors import InvalidRequest

DATA_TYPES = ("iot:Data", "iot:Data-ATS")
HTTPS_TYPES = ("iot:CredentialProvider", "iot:Jobs")


class Endpoints:
    def __init__(self, mqtts: str, https: str) -> None:
        self._mqtts = mqtts
        self._https = https

    async def describe_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        endpoint_type = params.get("endpointType", "iot:Data")
        if endpoint_type in DATA_TYPES:
            return {"endpointAddress": self._mqtts}
        if endpoint_type in HTTPS_TYPES:
            return {"endpointAddress": self._https}
        raise InvalidRequest(f"Endpoint type {endpoint_type} is not valid.")
