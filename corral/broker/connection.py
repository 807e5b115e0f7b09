"""One client connection: the pump between a transport and the sans-I/O parser, and the MQTT state machine.

States: AWAIT_CONNECT -> AUTHENTICATING -> CONNECTED -> CLOSED. Until CONNECTED, nothing but CONNECT is
acted on (later packets wait in a backlog while the authenticator answers). Outgoing bytes go into
``_out`` and are written once per loop iteration by the broker's flush, so a burst of deliveries costs one
``transport.write``. ``paused`` mirrors the transport's flow control: while it is set, QoS 0 deliveries
are dropped and QoS 1 deliveries wait in the session.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from enum import Enum
from typing import Any

from corral.auth.policy_context import connect_attributes
from corral.auth.principals import ALLOW_ALL, ANONYMOUS, ConnectAttempt, Grant, Principal
from corral.broker import events
from corral.broker.broker import Broker
from corral.broker.message import Message, forwarded_properties
from corral.broker.session import Session, SubscriptionOptions
from corral.broker.topics import TopicError, validate_topic_filter, validate_topic_name
from corral.mqtt.codec import encode
from corral.mqtt.errors import SUBACK_FAILURE_311, ConnackCode311, MQTTProtocolError, ReasonCode
from corral.mqtt.packets import (
    MQTT_5,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Puback,
    Publish,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
    Will,
)
from corral.mqtt.parser import MQTTParser
from corral.mqtt.properties import Properties

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
SESSION_EXPIRY_NEVER = 0xFFFFFFFF
PINGRESP = b"\xd0\x00"
_UNCHECKED: Any = object()
_TOPIC_CHECKS_MAX = 65536

# Reserved topics a device may publish to; every other topic starting with '$' is the broker's own.
_PUBLISHABLE_RESERVED = ("$aws/things/", "$aws/rules/", "$aws/certificates/", "$aws/provisioning-templates/")

# MQTT 5 reason codes a refused CONNECT maps to in 3.1.1's CONNACK return codes.
_CONNACK_311 = {
    ReasonCode.UNSUPPORTED_PROTOCOL_VERSION: ConnackCode311.UNACCEPTABLE_PROTOCOL_VERSION,
    ReasonCode.CLIENT_IDENTIFIER_NOT_VALID: ConnackCode311.IDENTIFIER_REJECTED,
    ReasonCode.SERVER_UNAVAILABLE: ConnackCode311.SERVER_UNAVAILABLE,
    ReasonCode.SERVER_BUSY: ConnackCode311.SERVER_UNAVAILABLE,
    ReasonCode.BAD_USER_NAME_OR_PASSWORD: ConnackCode311.BAD_USER_NAME_OR_PASSWORD,
}


class State(Enum):
    AWAIT_CONNECT = 1
    AUTHENTICATING = 2
    CONNECTED = 3
    CLOSED = 4


def reserved_topic_publishable(topic: str) -> bool:
    return topic.startswith(_PUBLISHABLE_RESERVED)


class MQTTConnection(asyncio.Protocol):
    def __init__(
        self,
        broker: Broker,
        kind: str,
        client_cert_der: bytes | None = None,
        authenticated: Principal | None = None,
    ) -> None:
        """``authenticated`` is a principal the transport already proved (a SigV4-presigned WebSocket
        URL); without it the authenticator decides at CONNECT from the client certificate."""
        self.broker = broker
        self.limits = broker.limits
        self.kind = kind
        self.client_cert_der = client_cert_der
        self.authenticated = authenticated
        self.parser = MQTTParser(server_side=True, max_packet_size=broker.limits.max_packet_size)
        self.transport: Any = None
        self.state = State.AWAIT_CONNECT
        self.version = 4
        self.client_id = ""
        self.principal: Principal = ANONYMOUS
        self.grant: Grant = ALLOW_ALL  # replaced by the authorizer's at CONNECT
        self.session: Session | None = None
        self.will: Will | None = None
        self.keep_alive = 0
        self.inflight_max = broker.limits.inflight_max
        self.client_max_packet: int | None = None
        self.event_version = 0
        self.remote_ip = ""
        self.last_rx = 0.0
        self.paused = False
        self.closing = False
        self._out: list[bytes] = []
        self._dirty = False
        self._backlog: list[Packet] = []
        self._aliases: dict[int, str] = {}
        self._send_will = True
        self._client_initiated = False
        self._disconnect_reason = events.CONNECTION_LOST

    # -- transport callbacks -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=self.limits.output_buffer_max_bytes)  # type: ignore[attr-defined]
        if self.client_cert_der is None:
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                self.client_cert_der = ssl_object.getpeercert(binary_form=True)
        peer = transport.get_extra_info("peername")
        self.remote_ip = str(peer[0]) if peer else ""
        self.last_rx = self.broker.loop.time()
        self.broker.connections.add(self)
        self.broker.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_rx = self.broker.loop.time()
        try:
            packets = self.parser.feed(data)
        except MQTTProtocolError as exc:
            self._protocol_error(exc)
            return
        if self.state is not State.CONNECTED:
            self._before_connected(packets)
            return
        self._handle(packets)

    def _handle(self, packets: list[Packet]) -> None:
        try:
            for packet in packets:
                if self.closing:
                    return
                kind = type(packet)
                if kind is Publish:
                    self._on_publish(packet)  # type: ignore[arg-type]
                elif kind is Puback:
                    self._on_puback(packet)  # type: ignore[arg-type]
                elif kind is Pingreq:
                    self.write(PINGRESP)
                elif kind is Subscribe:
                    self._on_subscribe(packet)  # type: ignore[arg-type]
                elif kind is Unsubscribe:
                    self._on_unsubscribe(packet)  # type: ignore[arg-type]
                elif kind is Disconnect:
                    self._on_disconnect(packet)  # type: ignore[arg-type]
                else:
                    # PUBREC/PUBREL/PUBCOMP belong to QoS 2, which is never granted; AUTH is not offered.
                    raise MQTTProtocolError(ReasonCode.PROTOCOL_ERROR, f"unexpected {kind.__name__}")
        except MQTTProtocolError as exc:
            self._protocol_error(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self._end()

    def _end(self) -> None:
        """Will, lifecycle event and session detach: once, as soon as the connection is known to be over."""
        previous = self.state
        self.state = State.CLOSED
        self.broker.connections.discard(self)
        session = self.session
        if previous is not State.CONNECTED or session is None:
            return
        if self._send_will and self.will is not None and not self.broker.shutting_down:
            self._publish_will(self.will)
        self.broker.event_disconnected(session, self, self._client_initiated, self._disconnect_reason)
        self.broker.detach(session, self)
        self.grant.close()
        self.broker.flush()

    def _revoked(self) -> None:
        """The registry withdrew this connection's right to be connected (certificate or policy)."""
        self.server_disconnect(ReasonCode.NOT_AUTHORIZED, events.AUTH_ERROR, will=True)
        self.broker.flush()

    def client_closed(self) -> None:
        """The client ended the transport cleanly (a WebSocket Close frame): no will, as for DISCONNECT."""
        if self.state is State.CONNECTED and not self.closing:
            self._send_will = False
            self._client_initiated = True
            self._disconnect_reason = events.CLIENT_INITIATED_DISCONNECT

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.session is not None and self.state is State.CONNECTED:
            self.broker.drain(self.session)

    # -- output --------------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self._out.append(data)
        if not self._dirty:
            self._dirty = True
            self.broker.mark_dirty(self)

    def flush(self) -> None:
        self._dirty = False
        if self._out:
            data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
            self._out.clear()
            if not self.transport.is_closing():
                self.transport.write(data)

    def send_publish(self, message: Message, qos: int, retain: bool, packet_id: int | None) -> bool:
        """Writes a delivery; False when it exceeds the Maximum Packet Size the client set (MQTT 5),
        in which case the message is discarded as the specification requires."""
        data = message.encode(self.version, qos, retain, packet_id)
        if self.client_max_packet is not None and len(data) > self.client_max_packet:
            self.broker.stats.dropped_too_large += 1
            return False
        self.write(data)
        return True

    def send_packet(self, packet: Packet) -> None:
        self.write(encode(packet, self.version))

    def _close(self) -> None:
        if self.closing:
            return
        self.closing = True
        self.flush()
        self.transport.close()
        # A TLS close waits for the peer's close_notify (up to 30 s when the peer is dead): do not make the
        # will and the lifecycle event wait for it.
        self._end()

    def server_disconnect(self, reason: int, event_reason: str, *, will: bool) -> None:
        """Ends the connection from our side, telling an MQTT 5 client why."""
        if self.closing:
            return
        if self.version == MQTT_5 and self.state is State.CONNECTED:
            self.send_packet(Disconnect(reason_code=reason))
        self._disconnect_reason = event_reason
        self._send_will = will
        self._close()

    def _protocol_error(self, exc: MQTTProtocolError) -> None:
        self.broker.stats.protocol_errors += 1
        log.info("closing %s (%s): %s", self.client_id or self.remote_ip, self.kind, exc.message)
        if self.state is State.AWAIT_CONNECT:
            unsupported = exc.reason_code == ReasonCode.UNSUPPORTED_PROTOCOL_VERSION
            if self.parser.protocol_version == MQTT_5 or unsupported:
                self._refuse(exc.reason_code)  # a CONNACK saying why, where the protocol has one
            else:
                self._close()
            return
        self.server_disconnect(exc.reason_code, events.CLIENT_ERROR, will=True)

    def check_deadlines(self, now: float) -> None:
        if self.closing:
            return
        if self.state is State.CONNECTED:
            if self.keep_alive and now - self.last_rx > 1.5 * self.keep_alive:
                self.server_disconnect(
                    ReasonCode.KEEP_ALIVE_TIMEOUT, events.MQTT_KEEP_ALIVE_TIMEOUT, will=True
                )
        elif now - self.last_rx > CONNECT_TIMEOUT:
            self._close()

    # -- CONNECT -------------------------------------------------------------------------------------

    def _before_connected(self, packets: list[Packet]) -> None:
        if self.state is State.AUTHENTICATING:
            self._backlog.extend(packets)
            return
        if not packets:
            return
        first, rest = packets[0], packets[1:]
        assert isinstance(first, Connect)  # the parser admits nothing else first
        self.state = State.AUTHENTICATING
        self._backlog.extend(rest)
        self.transport.pause_reading()
        self.broker.loop.create_task(self._connect(first))

    def _refuse(self, reason: int) -> None:
        version = self.parser.protocol_version or self.version
        if version == MQTT_5:
            self.write(encode(Connack(reason_code=reason), MQTT_5))
        else:
            code = _CONNACK_311.get(ReasonCode(reason), ConnackCode311.NOT_AUTHORIZED)
            self.write(encode(Connack(reason_code=code), 4))
        self._disconnect_reason = events.AUTH_ERROR
        self._close()

    async def _connect(self, packet: Connect) -> None:
        try:
            await self._do_connect(packet)
        except Exception:
            log.exception("CONNECT failed for %r", packet.client_id)
            self._refuse(ReasonCode.SERVER_UNAVAILABLE)

    async def _do_connect(self, packet: Connect) -> None:
        limits = self.limits
        self.version = packet.protocol_version
        v5 = self.version == MQTT_5
        client_id = packet.client_id
        assigned = False
        if not client_id:
            if not (v5 or packet.clean_start):
                self._refuse(ReasonCode.CLIENT_IDENTIFIER_NOT_VALID)
                return
            client_id, assigned = f"corral-{uuid.uuid4().hex}", True
        if len(client_id.encode()) > limits.client_id_max_bytes:
            self._refuse(ReasonCode.CLIENT_IDENTIFIER_NOT_VALID)
            return
        will = packet.will
        if will is not None:
            if will.qos > 1:
                self._refuse(ReasonCode.QOS_NOT_SUPPORTED)
                return
            try:
                validate_topic_name(will.topic, limits)
                if will.topic.startswith("$"):
                    raise TopicError("a will may not go to a reserved topic")
            except TopicError:
                self._refuse(ReasonCode.TOPIC_NAME_INVALID)
                return
            if len(will.payload) > limits.payload_max_bytes:
                self._refuse(ReasonCode.PACKET_TOO_LARGE)
                return
        principal = self.authenticated
        if principal is None:
            attempt = ConnectAttempt(
                client_id=client_id,
                client_cert_der=self.client_cert_der,
                username=packet.username,
                password=packet.password,
                transport=self.kind,
                remote_ip=self.remote_ip,
            )
            principal = await self.broker.authenticator.authenticate(attempt)
        grant = None
        if principal is not None:
            if v5:
                persistent = (packet.properties.session_expiry_interval or 0) > 0
            else:
                persistent = not packet.clean_start
            grant = await self.broker.authorize_connect(
                principal,
                client_id,
                self.remote_ip,
                connect_attributes(persistent=persistent, last_will=will is not None),
                will.topic if will is not None else None,
            )
        if grant is not None and will is not None and not grant.can_publish(will.topic):
            grant.close()
            grant = None
        if principal is None or grant is None:
            self.broker.event_connect_failed(client_id, principal, self.remote_ip)
            self._refuse(ReasonCode.NOT_AUTHORIZED)
            return
        if self.closing:
            grant.close()
            return
        self.grant = grant
        grant.on_revoked = self._revoked
        self.client_id = client_id
        self.principal = principal
        self.will = will

        requested = packet.keep_alive
        keep_alive = requested
        if keep_alive == 0 or keep_alive > limits.keep_alive_max:
            keep_alive = limits.keep_alive_max
        keep_alive = max(keep_alive, limits.keep_alive_min)
        self.keep_alive = keep_alive

        if v5:
            expiry = packet.properties.session_expiry_interval or 0
            if expiry == SESSION_EXPIRY_NEVER or expiry > limits.session_expiry_max:
                expiry = limits.session_expiry_max
            client_max = packet.properties.receive_maximum
            if client_max:
                self.inflight_max = min(self.inflight_max, client_max)
            self.client_max_packet = packet.properties.maximum_packet_size
        else:
            expiry = 0 if packet.clean_start else limits.session_expiry_max

        session, present = self.broker.attach(self, packet.clean_start, expiry)
        self.session = session
        self.event_version = self.broker.next_event_version(client_id)
        props = Properties()
        if v5:
            props.maximum_qos = 1
            props.retain_available = 1
            props.receive_maximum = limits.inflight_max
            props.topic_alias_maximum = limits.topic_alias_max
            props.maximum_packet_size = limits.max_packet_size
            props.wildcard_subscription_available = 1
            props.subscription_identifier_available = 0
            props.shared_subscription_available = 0
            if keep_alive != requested:
                props.server_keep_alive = keep_alive
            if assigned:
                props.assigned_client_identifier = client_id
            if packet.properties.session_expiry_interval not in (None, expiry) and expiry != 0:
                props.session_expiry_interval = expiry
        self.send_packet(Connack(reason_code=0, session_present=present, properties=props))
        self.state = State.CONNECTED
        self.broker.event_connected(session, self)
        self._resume_inflight(session)
        self.broker.drain(session)
        self.transport.resume_reading()
        backlog, self._backlog = self._backlog, []
        self._handle(backlog)

    def _resume_inflight(self, session: Session) -> None:
        """Resends unacknowledged deliveries with DUP, within this client's Receive Maximum; the rest go
        back to the front of the queue and follow as acknowledgements arrive."""
        pending = list(session.inflight.items())
        resend, requeue = pending[: self.inflight_max], pending[self.inflight_max :]
        for pid, delivery in reversed(requeue):
            del session.inflight[pid]
            session.queue.appendleft(delivery)
        for pid, delivery in resend:
            if not self.grant.can_receive(delivery.message.topic):
                del session.inflight[pid]  # its permission went while the client was away
                continue
            self.write(delivery.message.encode(self.version, 1, delivery.retain, pid, dup=True))

    # -- PUBLISH -------------------------------------------------------------------------------------

    def _on_publish(self, packet: Publish) -> None:
        topic = packet.topic
        props = packet.properties
        if props is not None and props.topic_alias is not None:
            topic = self._resolve_alias(topic, props.topic_alias)
        if packet.qos == 2:
            # AWS IoT does not support QoS 2: the publish is refused and the client disconnected.
            self.server_disconnect(ReasonCode.QOS_NOT_SUPPORTED, events.CLIENT_ERROR, will=True)
            return
        if len(packet.payload) > self.limits.payload_max_bytes:
            self.server_disconnect(ReasonCode.PACKET_TOO_LARGE, events.CLIENT_ERROR, will=True)
            return
        checks = self.broker.topic_checks
        refusal = checks.get(topic, _UNCHECKED)
        if refusal is _UNCHECKED:
            refusal = self._topic_refusal(topic)
            if len(checks) >= _TOPIC_CHECKS_MAX:
                checks.clear()
            checks[topic] = refusal
        if refusal is not None:
            self._refuse_publish(packet, refusal)
            return
        grant = self.grant
        if not grant.can_publish(topic) or (packet.retain and not grant.can_retain_publish(topic)):
            self._refuse_publish(packet, ReasonCode.NOT_AUTHORIZED)
            return
        self.broker.publish(
            Message.from_publish(
                packet, self.version, self.client_id, topic, self.principal.id, self.remote_ip or None
            )
        )
        if packet.qos == 1 and not self.closing:
            assert packet.packet_id is not None
            self.write(b"\x40\x02" + packet.packet_id.to_bytes(2, "big"))

    def _topic_refusal(self, topic: str) -> int | None:
        """Why no client may publish to ``topic`` (AWS's topic rules and reserved topics), or None."""
        try:
            validate_topic_name(topic, self.limits)
        except TopicError:
            return ReasonCode.TOPIC_NAME_INVALID
        if topic[0] == "$" and not reserved_topic_publishable(topic):
            return ReasonCode.NOT_AUTHORIZED
        return None

    def _resolve_alias(self, topic: str, alias: int) -> str:
        if alias == 0 or alias > self.limits.topic_alias_max:
            raise MQTTProtocolError(ReasonCode.TOPIC_ALIAS_INVALID, f"topic alias {alias} out of range")
        if topic:
            self._aliases[alias] = topic
            return topic
        known = self._aliases.get(alias)
        if known is None:
            raise MQTTProtocolError(ReasonCode.PROTOCOL_ERROR, f"topic alias {alias} was never set")
        return known

    def _refuse_publish(self, packet: Publish, reason: int) -> None:
        """As on AWS: an MQTT 5 client is told in its PUBACK (a refused QoS 0 publish is dropped);
        an MQTT 3.1.1 client, which has no way to hear why, is disconnected."""
        if self.version == MQTT_5:
            if packet.qos == 1 and packet.packet_id is not None:
                self.send_packet(Puback(packet.packet_id, reason_code=reason))
            return
        event = events.AUTH_ERROR if reason == ReasonCode.NOT_AUTHORIZED else events.CLIENT_ERROR
        self.server_disconnect(reason, event, will=True)

    def _publish_will(self, will: Will) -> None:
        # The topic was checked at CONNECT; the policy is asked again because it may have changed since.
        if not self.grant.can_publish(will.topic):
            return
        props = forwarded_properties(will.properties)
        self.broker.publish(
            Message(
                will.topic,
                will.payload,
                will.qos,
                will.retain,
                props,
                self.client_id,
                self.principal.id,
                self.remote_ip or None,
            )
        )

    def _on_puback(self, packet: Puback) -> None:
        session = self.session
        assert session is not None
        if session.inflight.pop(packet.packet_id, None) is not None and session.queue:
            self.broker.drain(session)

    # -- SUBSCRIBE / UNSUBSCRIBE ---------------------------------------------------------------------

    def _on_subscribe(self, packet: Subscribe) -> None:
        session = self.session
        assert session is not None
        v5 = self.version == MQTT_5
        if packet.properties.subscription_identifiers:
            # AWS IoT advertises Subscription Identifier Available = 0.
            raise MQTTProtocolError(
                ReasonCode.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, "subscription identifier"
            )
        codes: list[int] = []
        granted_filters: list[tuple[str, SubscriptionOptions, bool]] = []
        for i, sub in enumerate(packet.subscriptions):
            topic_filter = sub.topic_filter
            reason = self._check_filter(session, topic_filter, i)
            if reason is not None:
                if reason == ReasonCode.NOT_AUTHORIZED and not v5:
                    # AWS closes a 3.1.1 connection that subscribes where its policy does not allow.
                    self.server_disconnect(reason, events.AUTH_ERROR, will=True)
                    return
                codes.append(reason if v5 else SUBACK_FAILURE_311)
                continue
            granted = min(sub.qos, 1)  # QoS 2 is granted as QoS 1
            options = SubscriptionOptions(granted, sub.no_local, sub.retain_as_published, sub.retain_handling)
            is_new = self.broker.subscribe(session, topic_filter, options)
            codes.append(granted)
            granted_filters.append((topic_filter, options, is_new))
        self.send_packet(Suback(packet.packet_id, codes))
        for topic_filter, options, is_new in granted_filters:
            if options.retain_handling == 2 or (options.retain_handling == 1 and not is_new):
                continue
            # AWS sends a retained message on subscribe only to a filter naming its topic exactly.
            message = self.broker.retained.get(topic_filter)
            if message is not None and self.grant.can_receive(message.topic):
                self.broker.deliver(session, message, options.qos, True)
        self.broker.event_subscriptions(session, True, [f for f, _, _ in granted_filters])

    def _check_filter(self, session: Session, topic_filter: str, index: int) -> int | None:
        """The reason a filter is refused, or None."""
        limits = self.limits
        if index >= limits.subscribe_max_filters:
            return ReasonCode.QUOTA_EXCEEDED
        if topic_filter.startswith("$share/"):
            return ReasonCode.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
        try:
            validate_topic_filter(topic_filter, limits)
        except TopicError:
            return ReasonCode.TOPIC_FILTER_INVALID
        if not self.grant.can_subscribe(topic_filter):
            return ReasonCode.NOT_AUTHORIZED
        if (
            topic_filter not in session.subscriptions
            and len(session.subscriptions) >= limits.subscriptions_per_session
        ):
            return ReasonCode.QUOTA_EXCEEDED
        return None

    def _on_unsubscribe(self, packet: Unsubscribe) -> None:
        session = self.session
        assert session is not None
        codes: list[int] = []
        removed: list[str] = []
        for topic_filter in packet.topic_filters:
            if self.broker.unsubscribe(session, topic_filter):
                codes.append(ReasonCode.SUCCESS)
                removed.append(topic_filter)
            else:
                codes.append(ReasonCode.NO_SUBSCRIPTION_EXISTED)
        self.send_packet(Unsuback(packet.packet_id, codes if self.version == MQTT_5 else []))
        self.broker.event_subscriptions(session, False, removed)

    def _on_disconnect(self, packet: Disconnect) -> None:
        session = self.session
        assert session is not None
        expiry = packet.properties.session_expiry_interval
        if expiry is not None:
            if session.expiry_interval == 0 and expiry != 0:
                raise MQTTProtocolError(
                    ReasonCode.PROTOCOL_ERROR, "session expiry set after connecting with 0"
                )
            session.expiry_interval = min(expiry, self.limits.session_expiry_max)
        self._send_will = packet.reason_code == ReasonCode.DISCONNECT_WITH_WILL_MESSAGE
        self._client_initiated = True
        self._disconnect_reason = events.CLIENT_INITIATED_DISCONNECT
        self._close()
