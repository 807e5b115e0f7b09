"""The ``iot-data`` API (AWS IoT Data Plane): shadows from the shadow service, Publish and retained messages
from the broker.

The operations are the installed botocore model's; this module only turns parsed parameters into calls on
the two domains and their answers into the model's output shapes. Operations not listed in ``handler`` answer
as AWS answers an action it does not know.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from corral import paging
from corral.api.app import CALLER
from corral.broker.broker import Broker
from corral.broker.connection import reserved_topic_publishable
from corral.broker.limits import Limits
from corral.broker.message import Message
from corral.broker.topics import TopicError, validate_topic_name
from corral.mqtt.properties import Properties
from corral.shadows.document import ShadowRejected
from corral.shadows.errors import InvalidRequest, ResourceNotFound, http_error
from corral.shadows.service import ShadowService

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

PAYLOAD_FORMATS = {"UNSPECIFIED_BYTES": 0, "UTF8_DATA": 1}


class IoTDataAPI:
    def __init__(self, shadows: ShadowService, broker: Broker) -> None:
        self.shadows = shadows
        self.broker = broker
        self._handlers: dict[str, Handler] = {
            "GetThingShadow": self.get_thing_shadow,
            "UpdateThingShadow": self.update_thing_shadow,
            "DeleteThingShadow": self.delete_thing_shadow,
            "ListNamedShadowsForThing": self.list_named_shadows_for_thing,
            "Publish": self.publish,
            "GetRetainedMessage": self.get_retained_message,
            "ListRetainedMessages": self.list_retained_messages,
        }

    def handler(self, operation_name: str) -> Handler | None:
        return self._handlers.get(operation_name)

    @staticmethod
    def permissions(operation_name: str, params: dict[str, Any]) -> list[tuple[str, str]] | None:
        """What a certificate-authenticated caller's policies must allow (AWS's action resources table):
        the shadow actions on ``thing/{thing}`` or ``thing/{thing}/{shadow}``, iot:Publish (and
        iot:RetainPublish) on ``topic/{topic}``. None: not offered to certificate callers."""
        thing, shadow = params.get("thingName"), params.get("shadowName")
        if operation_name in ("GetThingShadow", "UpdateThingShadow", "DeleteThingShadow"):
            resource = f"thing/{thing}" if shadow is None else f"thing/{thing}/{shadow}"
            return [(f"iot:{operation_name}", resource)]
        if operation_name == "ListNamedShadowsForThing":
            return [("iot:ListNamedShadowsForThing", f"thing/{thing}")]
        if operation_name == "Publish":
            topic = f"topic/{params['topic']}"
            needed = [("iot:Publish", topic)]
            if params.get("retain"):
                needed.append(("iot:RetainPublish", topic))
            return needed
        if operation_name == "GetRetainedMessage":
            return [("iot:GetRetainedMessage", f"topic/{params['topic']}")]
        if operation_name == "ListRetainedMessages":
            return [("iot:ListRetainedMessages", "*")]
        return None

    # -- shadows -------------------------------------------------------------------------------------

    async def get_thing_shadow(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            body = await self.shadows.get(params["thingName"], params.get("shadowName"))
        except ShadowRejected as exc:
            raise http_error(exc) from exc
        return {"payload": orjson.dumps(body)}

    async def update_thing_shadow(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            body = await self.shadows.update(params["thingName"], params.get("shadowName"), params["payload"])
        except ShadowRejected as exc:
            raise http_error(exc) from exc
        return {"payload": orjson.dumps(body)}

    async def delete_thing_shadow(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            body = await self.shadows.delete(params["thingName"], params.get("shadowName"))
        except ShadowRejected as exc:
            raise http_error(exc) from exc
        return {"payload": orjson.dumps(body)}

    async def list_named_shadows_for_thing(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self.shadows.list_named_shadows(
                params["thingName"], params.get("nextToken"), params.get("pageSize")
            )
        except ShadowRejected as exc:
            raise http_error(exc) from exc

    # -- the broker ----------------------------------------------------------------------------------

    async def publish(self, params: dict[str, Any]) -> dict[str, Any]:
        """Publish: the message enters the broker as a device's would (retained, hooks, rules), carrying its
        caller's identity (``CALLER``: the access key id or certificate id, and the client's address)."""
        topic: str = params["topic"]
        try:
            validate_topic_name(topic, self.broker.limits)
        except TopicError as exc:
            raise InvalidRequest(f"Invalid topic name: {exc}") from exc
        if topic.startswith("$") and not reserved_topic_publishable(topic):
            raise InvalidRequest(f"Publishing to the reserved topic {topic} is not allowed")
        payload: bytes = params.get("payload") or b""
        if len(payload) > self.broker.limits.payload_max_bytes:
            raise InvalidRequest(f"Payload is larger than {self.broker.limits.payload_max_bytes} bytes")
        retain = bool(params.get("retain", False))
        properties = _properties(params, self.broker.limits)
        caller = CALLER.get()
        message = Message(topic, payload, int(params.get("qos", 0)), retain, properties)
        if caller is not None:
            # The rules engine's principal() and sourceip(); clientid() stays "n/a" (not sent over MQTT).
            message.principal, message.source_ip = caller.principal, caller.source_ip
        self.broker.publish(message)
        return {}

    async def get_retained_message(self, params: dict[str, Any]) -> dict[str, Any]:
        topic: str = params["topic"]
        message = self.broker.retained.get(topic)
        if message is None:
            raise ResourceNotFound(f"No retained message found for topic: {topic}")
        result: dict[str, Any] = {
            "topic": topic,
            "payload": message.payload,
            "qos": message.qos,
            "lastModifiedTime": self.broker.retained_at.get(topic, 0),
        }
        if message.properties is not None and message.properties.user_properties:
            pairs = [{key: value} for key, value in message.properties.user_properties]
            result["userProperties"] = orjson.dumps(pairs)
        return result

    async def list_retained_messages(self, params: dict[str, Any]) -> dict[str, Any]:
        """Topics in name order; ``nextToken`` is the last topic of the page, opaque to the caller."""
        size = params.get("maxResults") or 200
        after = _decode_token(params["nextToken"]) if params.get("nextToken") else None
        topics = sorted(t for t in self.broker.retained if after is None or t > after)
        page = topics[:size]
        result: dict[str, Any] = {
            "retainedTopics": [
                {
                    "topic": topic,
                    "payloadSize": len(self.broker.retained[topic].payload),
                    "qos": self.broker.retained[topic].qos,
                    "lastModifiedTime": self.broker.retained_at.get(topic, 0),
                }
                for topic in page
            ]
        }
        if len(topics) > size:
            result["nextToken"] = paging.encode_token(page[-1])
        return result


def _decode_token(token: str) -> str | None:
    try:
        return paging.decode_token(token)
    except paging.BadToken as exc:
        raise InvalidRequest("Invalid nextToken") from exc


def route_path(raw_path: bytes) -> bytes:
    """``/topics/a/b`` as ``/topics/a%2Fb``: AWS's HTTPS publish takes a topic's slashes as they are (curl
    users write them so), while botocore encodes them and the model's ``{topic}`` label spans one segment."""
    for prefix in (b"/topics/", b"/retainedMessage/"):
        if raw_path.startswith(prefix):
            return prefix + raw_path[len(prefix) :].replace(b"/", b"%2F")
    return raw_path


def _properties(params: dict[str, Any], limits: Limits) -> Properties | None:
    """The MQTT 5 properties the Publish model carries; AWS sends them to MQTT 5 subscribers."""
    props = Properties()
    present = False
    user_properties = params.get("userProperties")
    if user_properties is not None:
        props.user_properties = _user_properties(user_properties)
        present = True
    indicator = params.get("payloadFormatIndicator")
    if indicator is not None:
        props.payload_format_indicator = PAYLOAD_FORMATS[indicator]
        present = True
    if params.get("contentType") is not None:
        props.content_type = params["contentType"]
        present = True
    if params.get("responseTopic") is not None:
        try:
            validate_topic_name(params["responseTopic"], limits)
        except TopicError as exc:
            raise InvalidRequest(f"Invalid response topic: {exc}") from exc
        props.response_topic = params["responseTopic"]
        present = True
    if params.get("correlationData") is not None:
        try:
            props.correlation_data = base64.b64decode(params["correlationData"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequest("correlationData must be base64-encoded") from exc
        present = True
    if params.get("messageExpiry") is not None:
        expiry = int(params["messageExpiry"])
        if expiry < 0 or expiry > 0xFFFFFFFF:
            raise InvalidRequest("messageExpiry must be between 0 and 4294967295 seconds")
        props.message_expiry_interval = expiry
        present = True
    return props if present else None


def _user_properties(value: Any) -> list[tuple[str, str]]:
    """The header is a JSON list of single-pair objects (``[{"k": "v"}, …]``), as botocore sends it; boto3
    given the "JSON string" its documentation asks for sends that string JSON-encoded once more."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest("userProperties must be a JSON array of objects") from exc
    if not isinstance(value, list):
        raise InvalidRequest("userProperties must be a JSON array of objects")
    pairs: list[tuple[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidRequest("userProperties must be a JSON array of objects")
        for key, val in item.items():
            if not isinstance(val, str):
                raise InvalidRequest("userProperties values must be strings")
            pairs.append((str(key), val))
    return pairs
