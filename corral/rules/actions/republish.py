"""The republish action: the statement's output published on another topic, through the broker.

AWS (developerguide/republish-rule-action.html, API RepublishAction and MqttHeaders): ``topic`` (required,
templates; ``$$`` for a reserved topic's ``$``; reserved job topics refused), ``qos`` 0 or 1 (default 0), and
the MQTT 5 ``headers`` (``payloadFormatIndicator`` ``UNSPECIFIED_BYTES``/``UTF8_DATA``, ``contentType``,
``responseTopic``, ``correlationData`` base64, ``messageExpiry`` seconds, ``userProperties`` key/value pairs),
every header a template. ``roleArn`` is required by the model and not used: Corral has no IAM.

The republished message enters the broker as any message does (subscribers, retained rules, shadows, other
rules); it carries one more hop than the message that caused it, and past ``max_republish_hops`` it is
dropped with a log line and the broker's ``rule_loops_cut`` counter, which is how a rule loop ends.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.broker.message import Message
from corral.broker.topics import TopicError, validate_topic_name
from corral.mqtt.properties import Properties
from corral.rules.actions.base import (
    ActionContext,
    ActionError,
    ActionServices,
    ActionSpecError,
    require_str,
)
from corral.rules.templates import Template, TemplateCompiler

PAYLOAD_FORMATS = {"UNSPECIFIED_BYTES": 0, "UTF8_DATA": 1}
_HEADERS = ("payloadFormatIndicator", "contentType", "responseTopic", "correlationData", "messageExpiry")


def _is_job_topic(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) > 3 and parts[0] == "$aws" and parts[1] == "things" and parts[3] == "jobs"


@dataclass(frozen=True, slots=True)
class RepublishAction:
    topic: Template
    qos: int
    headers: dict[str, Template]
    user_properties: tuple[tuple[Template, Template], ...]
    services: ActionServices
    failed_action: str = "RepublishAction"
    runs_sync: bool = field(init=False)
    """No template calls an external function: ``run_sync`` does the work, and ``run`` calls it."""

    def __post_init__(self) -> None:
        templates = [self.topic, *self.headers.values(), *(t for pair in self.user_properties for t in pair)]
        object.__setattr__(self, "runs_sync", not any(t.uses_external for t in templates))

    def run_sync(self, payload: bytes, ctx: ActionContext) -> None:
        """``run`` without awaiting, for a republish whose templates call no external function."""
        render = ctx.render_sync
        topic = render(self.topic)
        hops = self._hops(topic, ctx)
        if hops is None:
            return
        props: Properties | None = None
        if self.headers or self.user_properties:
            props = self._header_properties({n: render(t) for n, t in self.headers.items()}, topic)
            props.user_properties = [(render(key), render(value)) for key, value in self.user_properties]
        self._publish(topic, payload, props, hops)

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        if self.runs_sync:
            self.run_sync(payload, ctx)
            return
        topic = await ctx.render(self.topic)
        hops = self._hops(topic, ctx)
        if hops is None:
            return
        props: Properties | None = None
        if self.headers or self.user_properties:
            values = {name: await ctx.render(template) for name, template in self.headers.items()}
            props = self._header_properties(values, topic)
            props.user_properties = [
                (await ctx.render(key), await ctx.render(value)) for key, value in self.user_properties
            ]
        self._publish(topic, payload, props, hops)

    def _hops(self, topic: str, ctx: ActionContext) -> int | None:
        """The republished message's hop count, or None when the loop is cut; ActionError for a topic that
        cannot be republished to."""
        try:
            validate_topic_name(topic, self.services.limits)
        except TopicError as exc:
            raise ActionError(f"Invalid republish topic {topic!r}: {exc}", topic) from exc
        if _is_job_topic(topic):
            raise ActionError(f"Republishing to the reserved job topic {topic} is not supported", topic)
        hops = ctx.message.hops + 1
        if hops > self.services.max_republish_hops:
            self.services.loops_cut(ctx.message, topic)
            return None
        return hops

    def _publish(self, topic: str, payload: bytes, props: Properties | None, hops: int) -> None:
        message = Message(topic, payload, self.qos, False, props)
        message.hops = hops
        self.services.publish(message)

    def _header_properties(self, values: dict[str, str], topic: str) -> Properties:
        """The MQTT 5 properties of the rendered ``headers`` (user properties are set by the caller)."""
        props = Properties()
        try:
            if (indicator := values.get("payloadFormatIndicator")) is not None:
                props.payload_format_indicator = PAYLOAD_FORMATS[indicator]
            if (content_type := values.get("contentType")) is not None:
                props.content_type = content_type
            if (response_topic := values.get("responseTopic")) is not None:
                validate_topic_name(response_topic, self.services.limits)
                props.response_topic = response_topic
            if (correlation := values.get("correlationData")) is not None:
                props.correlation_data = base64.b64decode(correlation, validate=True)
            if (expiry := values.get("messageExpiry")) is not None:
                seconds = int(expiry)
                if not 0 <= seconds <= 0xFFFFFFFF:
                    raise ValueError("messageExpiry out of range")
                props.message_expiry_interval = seconds
        except KeyError as exc:
            raise ActionError(f"Invalid payloadFormatIndicator {exc.args[0]!r}", topic) from exc
        except TopicError as exc:
            raise ActionError(f"Invalid responseTopic: {exc}", topic) from exc
        except binascii.Error as exc:
            raise ActionError("correlationData is not base64-encoded", topic) from exc
        except ValueError as exc:
            raise ActionError(f"Invalid messageExpiry {values.get('messageExpiry')!r}", topic) from exc
        return props


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> RepublishAction:
    require_str(spec, "roleArn", "republish")
    qos = spec.get("qos", 0)
    if qos not in (0, 1):
        raise ActionSpecError("The republish action's qos must be 0 or 1")
    headers: Mapping[str, Any] = spec.get("headers") or {}
    compiled: dict[str, Template] = {}
    for name in _HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        if name == "payloadFormatIndicator" and "${" not in value and value not in PAYLOAD_FORMATS:
            raise ActionSpecError("payloadFormatIndicator must be UNSPECIFIED_BYTES or UTF8_DATA")
        compiled[name] = compile(value)
    pairs = tuple(
        (compile(prop["key"]), compile(prop["value"])) for prop in headers.get("userProperties") or ()
    )
    return RepublishAction(
        compile(require_str(spec, "topic", "republish")), int(qos), compiled, pairs, services
    )
