"""The message broker: sessions by client id, routing, retained messages, wills and lifecycle events.

Connections (``connection.py``) turn packets into calls on this object; it decides who receives what.
Nothing here awaits on the per-message path: a publish is matched, authorized per receiver and written
into each receiver's output buffer, and all buffers are flushed together once per loop iteration.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from corral.auth.principals import Authenticator, Authorizer, Grant, Principal
from corral.broker import events
from corral.broker.limits import Limits
from corral.broker.message import Message
from corral.broker.session import Delivery, Session, SubscriptionOptions, merge_options
from corral.broker.topics import RULES_PREFIX, SubscriptionTrie
from corral.mqtt.errors import ReasonCode

if TYPE_CHECKING:
    from corral.broker.connection import MQTTConnection

log = logging.getLogger(__name__)

MessageHook = Callable[[Message], None]


@dataclass(slots=True)
class BrokerStats:
    connections: int = 0
    messages_in: int = 0
    deliveries: int = 0
    dropped_qos0: int = 0
    dropped_qos1: int = 0
    dropped_too_large: int = 0
    slow_consumer_disconnects: int = 0
    protocol_errors: int = 0
    # Rule republishes dropped because their message had been republished max_republish_hops times.
    rule_loops_cut: int = 0


class ConnectAttributesAuthorizer(Protocol):
    """An authorizer whose iot:Connect decision sees the CONNECT's ``iot:ConnectAttributes`` and
    ``iot:LastWillTopic``; it says so with ``decides_connect_attributes = True``."""

    decides_connect_attributes: bool

    async def authorize_connect(
        self,
        principal: Principal,
        client_id: str,
        remote_ip: str,
        *,
        connect_attributes: tuple[str, ...] = (),
        last_will_topic: str | None = None,
    ) -> Grant | None: ...


class Broker:
    def __init__(
        self,
        limits: Limits,
        authenticator: Authenticator,
        authorizer: Authorizer,
    ) -> None:
        self.limits = limits
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.sessions: dict[str, Session] = {}
        self.subscriptions: SubscriptionTrie[SubscriptionOptions] = SubscriptionTrie(merge_options)
        self.retained: dict[str, Message] = {}
        # When each retained message was last set (epoch ms): GetRetainedMessage's lastModifiedTime.
        self.retained_at: dict[str, int] = {}
        self.connections: set[MQTTConnection] = set()
        self.stats = BrokerStats()
        self.message_hooks: list[MessageHook] = []
        self._dirty: list[MQTTConnection] = []
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._event_versions: dict[str, int] = {}
        # Topic name -> the reason a publish to it is refused (None: accepted), whatever the client.
        self.topic_checks: dict[str, int | None] = {}
        self.shutting_down = False

    async def authorize_connect(
        self,
        principal: Principal,
        client_id: str,
        remote_ip: str,
        connect_attributes: tuple[str, ...],
        last_will_topic: str | None,
    ) -> Grant | None:
        """The authorizer's grant for a CONNECT; the attributes go to authorizers that decide on them."""
        authorizer = self.authorizer
        if getattr(authorizer, "decides_connect_attributes", False):
            return await cast(ConnectAttributesAuthorizer, authorizer).authorize_connect(
                principal,
                client_id,
                remote_ip,
                connect_attributes=connect_attributes,
                last_will_topic=last_will_topic,
            )
        return await authorizer.authorize_connect(principal, client_id, remote_ip)

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._sweeper = self._loop.create_task(self._sweep_forever())

    async def stop(self) -> None:
        """Clean shutdown: every client is disconnected without its will; sessions stay."""
        self.shutting_down = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conn in list(self.connections):
            conn.server_disconnect(
                ReasonCode.SERVER_SHUTTING_DOWN, events.SERVER_INITIATED_DISCONNECT, will=False
            )
        self.flush()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "broker not started"
        return self._loop

    # -- output batching -----------------------------------------------------------------------------

    def mark_dirty(self, conn: MQTTConnection) -> None:
        self._dirty.append(conn)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()

    # -- sessions ------------------------------------------------------------------------------------

    def attach(self, conn: MQTTConnection, clean_start: bool, expiry: int) -> tuple[Session, bool]:
        """Binds a connection to the session of its client id; True when an old session was resumed."""
        client_id = conn.client_id
        session = self.sessions.get(client_id)
        if session is not None and session.connection is not None:
            old = session.connection
            old.server_disconnect(ReasonCode.SESSION_TAKEN_OVER, events.DUPLICATE_CLIENTID, will=True)
            session = self.sessions.get(client_id)  # ending the old connection may have ended its session
        if session is not None and (clean_start or session.expired(time.time())):
            self._discard_session(session)
            session = None
        present = session is not None
        if session is None:
            session = Session(client_id=client_id, principal=conn.principal)
            self.sessions[client_id] = session
        session.principal = conn.principal
        session.expiry_interval = expiry
        session.connection = conn
        session.disconnected_at = None
        return session, present

    def detach(self, session: Session, conn: MQTTConnection) -> None:
        if session.connection is not conn:
            return  # taken over: the new connection owns the session now
        session.connection = None
        if session.expiry_interval == 0:
            self._discard_session(session)
        else:
            session.disconnected_at = time.time()

    def _discard_session(self, session: Session) -> None:
        for topic_filter in session.subscriptions:
            self.subscriptions.remove(topic_filter, session.client_id)
        session.subscriptions.clear()
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]

    def subscribe(self, session: Session, topic_filter: str, options: SubscriptionOptions) -> bool:
        """Adds or replaces a subscription; True when it is new to the session."""
        session.subscriptions[topic_filter] = options
        return self.subscriptions.add(topic_filter, session.client_id, options)

    def unsubscribe(self, session: Session, topic_filter: str) -> bool:
        if session.subscriptions.pop(topic_filter, None) is None:
            return False
        self.subscriptions.remove(topic_filter, session.client_id)
        return True

    # -- routing -------------------------------------------------------------------------------------

    def publish(self, message: Message) -> None:
        """Routes an accepted message to every matching session and to the internal hooks."""
        self.stats.messages_in += 1
        if message.retain:
            self._retain(message)
        sessions = self.sessions
        topic = message.topic
        # Basic Ingest ($aws/rules/{rule}/...) goes to the rules engine only (a hook), never to subscribers.
        matches = self.subscriptions.match(topic) if not topic.startswith(RULES_PREFIX) else ()
        for client_id, options in matches:
            if options.no_local and client_id == message.sender:
                continue
            session = sessions[client_id]
            conn = session.connection
            # iot:Receive is asked when the message goes out: now for a connected client, at drain for
            # one whose QoS 1 messages wait offline (its permissions may change meanwhile).
            if conn is not None and not conn.grant.can_receive(topic):
                continue
            self.deliver(session, message, options.qos, message.retain and options.retain_as_published)
        for hook in self.message_hooks:
            hook(message)

    def deliver(
        self,
        session: Session,
        message: Message,
        granted_qos: int,
        retain: bool,
    ) -> None:
        conn = session.connection
        if message.qos == 0 or granted_qos == 0:
            if conn is None or conn.closing:
                return  # QoS 0 is never kept for an offline client
            if conn.paused:
                self.stats.dropped_qos0 += 1
                session.dropped += 1
                return
            conn.send_publish(message, 0, retain, None)
            self.stats.deliveries += 1
            return
        delivery = Delivery(message, retain)
        if (
            conn is not None
            and not conn.paused
            and not conn.closing
            and not session.queue
            and len(session.inflight) < conn.inflight_max
        ):
            pid = session.next_packet_id()
            if conn.send_publish(message, 1, retain, pid):
                session.inflight[pid] = delivery
                self.stats.deliveries += 1
            return
        if len(session.queue) >= self.limits.queued_messages_max:
            self.stats.dropped_qos1 += 1
            session.dropped += 1
            if conn is not None and not conn.closing:
                # A client that cannot keep up would otherwise hold the broker's memory hostage.
                self.stats.slow_consumer_disconnects += 1
                conn.server_disconnect(ReasonCode.QUOTA_EXCEEDED, events.THROTTLED, will=True)
            return
        session.queue.append(delivery)

    def drain(self, session: Session) -> None:
        """Moves queued QoS 1 deliveries into the window while the connection can take them."""
        conn = session.connection
        if conn is None:
            return
        queue = session.queue
        inflight_max = conn.inflight_max
        now = time.monotonic()
        while queue and len(session.inflight) < inflight_max and not conn.paused and not conn.closing:
            delivery = queue.popleft()
            if delivery.message.expired(now) or not conn.grant.can_receive(delivery.message.topic):
                continue  # expired while it waited (MQTT 5), or no longer allowed (iot:Receive)
            pid = session.next_packet_id()
            if conn.send_publish(delivery.message, 1, delivery.retain, pid):
                session.inflight[pid] = delivery
                self.stats.deliveries += 1

    def publish_internal(self, topic: str, payload: bytes, qos: int = 0) -> None:
        """A message from the broker itself (lifecycle events): no sender, no publish authorization."""
        self.publish(Message(topic, payload, qos))

    # -- retained ------------------------------------------------------------------------------------

    def _retain(self, message: Message) -> None:
        if message.topic.startswith("$"):
            return  # AWS keeps no retained messages on reserved topics
        if not message.payload:
            self.retained.pop(message.topic, None)
            self.retained_at.pop(message.topic, None)
            return
        if message.topic not in self.retained and len(self.retained) >= self.limits.retained_max_topics:
            log.warning("retained message limit reached; not retaining %s", message.topic)
            return
        self.retained[message.topic] = message
        self.retained_at[message.topic] = int(time.time() * 1000)

    # -- lifecycle events ----------------------------------------------------------------------------

    def next_event_version(self, client_id: str) -> int:
        """AWS's versionNumber: grows with each connection of a client id, shared by its two events."""
        version = self._event_versions.get(client_id, -1) + 1
        self._event_versions[client_id] = version
        return version

    def event_connected(self, session: Session, conn: MQTTConnection) -> None:
        if events.events_enabled(session.client_id):
            topic, body = events.connected(
                session.client_id, conn.principal.id, session.session_id, conn.remote_ip, conn.event_version
            )
            self.publish_internal(topic, body)

    def event_disconnected(
        self, session: Session, conn: MQTTConnection, client_initiated: bool, reason: str
    ) -> None:
        if events.events_enabled(session.client_id):
            topic, body = events.disconnected(
                session.client_id,
                conn.principal.id,
                session.session_id,
                conn.event_version,
                client_initiated,
                reason,
            )
            self.publish_internal(topic, body)

    def event_connect_failed(self, client_id: str, principal: Principal | None, ip_address: str) -> None:
        if events.events_enabled(client_id):
            principal_id = principal.id if principal is not None else ""
            topic, body = events.connect_failed(client_id, principal_id, ip_address, "AUTHORIZATION_FAILED")
            self.publish_internal(topic, body)

    def event_subscriptions(self, session: Session, subscribed: bool, topics: list[str]) -> None:
        if topics and events.events_enabled(session.client_id):
            topic, body = events.subscription_event(
                subscribed, session.client_id, session.principal.id, session.session_id, topics
            )
            self.publish_internal(topic, body)

    # -- housekeeping --------------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                self.sweep()
            except Exception:  # pragma: no cover - keep the sweeper alive whatever a connection did
                log.exception("broker sweep failed")

    def sweep(self) -> None:
        """Closes connections past their keep-alive or connect deadline; ends expired sessions."""
        now = self.loop.time()
        for conn in list(self.connections):
            conn.check_deadlines(now)
        wall = time.time()
        for session in [s for s in self.sessions.values() if s.expired(wall)]:
            self._discard_session(session)
        self.flush()
