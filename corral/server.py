"""``corral serve``: builds the broker and its listeners from a Config, and writes ``endpoints.json``.

Every listener lives in one event loop. ``endpoints.json`` appears only once all of them accept connections
and disappears on shutdown, so a tool that finds the file can connect at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import socket
import ssl
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from corral.api import iot_data
from corral.api.access_keys import AccessKeys
from corral.api.app import AWSAPI
from corral.api.credentials import CREDENTIALS_FILE, new_access_key, read_profile, write_profile
from corral.api.http import HTTPListeners
from corral.api.iot_data import IoTDataAPI
from corral.auth.ca import CorralPKI, ensure_pki, https_server_ssl_context, mqtt_server_ssl_context
from corral.auth.principals import AllowAllAuthorizer, CertificateChainAuthenticator
from corral.broker.broker import Broker
from corral.broker.connection import MQTTConnection
from corral.broker.message import Message
from corral.broker.persistence import load_state, save_state
from corral.broker.websocket import SigV4Access, mqtt_over_websocket
from corral.config import Config
from corral.functions import download as function_code
from corral.functions.api import LambdaAPI
from corral.functions.service import FunctionCredentials, FunctionService
from corral.oneclick import factory as oneclick_factory
from corral.oneclick.api import OneClickAPI
from corral.oneclick.devices import DeviceService
from corral.oneclick.dispatch import ServiceDispatcher, SnsNotifier
from corral.oneclick.ingest import ClickIngest
from corral.oneclick.metrics import CloudWatchSink, EventMetrics
from corral.oneclick.projects import ProjectService
from corral.registry.broker_auth import PolicyAuthorizer, RegistryAuthenticator
from corral.registry.cas import CACertificates
from corral.registry.certificates import Certificates
from corral.registry.context import RegistryContext
from corral.registry.endpoints import Endpoints
from corral.registry.event_config import EventConfigurations, load_event_configurations
from corral.registry.policies import Policies
from corral.registry.principals import Principals
from corral.registry.request_auth import CertificateRequests
from corral.registry.service import RegistryService
from corral.registry.tags import Tags
from corral.registry.thing_group_members import ThingGroupMembers
from corral.registry.thing_groups import ThingGroups
from corral.registry.thing_types import ThingTypes
from corral.registry.things import Things
from corral.registry.trust import TrustAnchors
from corral.rules.actions import ActionServices, external
from corral.rules.api import TopicRules
from corral.rules.engine import iot_sql
from corral.rules.runner import RulesRunner, loop_counter
from corral.services.cloudwatch import exposition
from corral.services.cloudwatch.api import CloudWatchAPI
from corral.services.cloudwatch.service import CloudWatchService
from corral.services.dynamodb.api import DynamoDbAPI
from corral.services.dynamodb.service import DynamoDbService
from corral.services.firehose.api import FirehoseAPI
from corral.services.firehose.service import FirehoseService
from corral.services.kinesis.api import KinesisAPI
from corral.services.kinesis.service import KinesisService
from corral.services.logs.api import LogsAPI
from corral.services.logs.service import LogsService
from corral.services.s3.http import S3API
from corral.services.s3.service import S3Service
from corral.services.sns.api import SnsAPI
from corral.services.sns.envelope import Signer
from corral.services.sns.errors import SnsError
from corral.services.sns.service import SnsService
from corral.services.sqs.api import SqsAPI
from corral.services.sqs.service import SqsService
from corral.shadows.service import REQUEST_HOPS, ShadowService
from corral.store.engine import Store

log = logging.getLogger(__name__)

ENDPOINTS_FILE = "endpoints.json"
PROFILE = "corral"
FUNCTIONS_PROFILE = "corral-functions"
LOOPBACK = ("127.0.0.1", "::1")
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "*")


def bind_sockets(hosts: tuple[str, ...], port: int) -> list[socket.socket]:
    """Binds every host on one port; with port 0 the first bind picks it and the others follow.

    An address family the machine lacks (no IPv6) is skipped unless it is the only host asked for.
    """
    sockets: list[socket.socket] = []
    for host in hosts:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((host, port))
            sock.listen(1024)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            if sockets and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                continue
            for s in sockets:
                s.close()
            raise
        sockets.append(sock)
        port = sock.getsockname()[1]
    return sockets


def _hosts(host: str) -> tuple[str, ...]:
    return ("0.0.0.0", "::") if host in WILDCARD_HOSTS else (host,)


def _display_host(host: str) -> str:
    if host in WILDCARD_HOSTS:
        return "localhost"
    return f"[{host}]" if ":" in host else host


async def function_credentials(
    keys: AccessKeys, path: Path, account_id: str, region: str
) -> FunctionCredentials:
    """The access key functions call the API with: the account's, kept in ``path`` across restarts."""
    key = read_profile(path, FUNCTIONS_PROFILE)
    if key is None or keys.secret_for(key.access_key_id) != key.secret_access_key:
        key = new_access_key()
        await keys.add(key, account_id, FUNCTIONS_PROFILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_profile(path, FUNCTIONS_PROFILE, key, region)
    return FunctionCredentials(key.access_key_id, key.secret_access_key)


class CorralServer:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.data_dir = config.data_dir
        self.pki: CorralPKI | None = None
        # start() replaces these defaults with the registry's before any listener accepts a connection.
        self.broker = Broker(config.limits, CertificateChainAuthenticator(), AllowAllAuthorizer())
        self.http = HTTPListeners(self._asgi_app(), log_level="warning")
        self._servers: list[asyncio.Server] = []
        self.store: Store | None = None
        self.registry: RegistryService | None = None
        self.shadows: ShadowService | None = None
        self.rules: RulesRunner | None = None
        self.api: AWSAPI | None = None
        self.dynamodb: DynamoDbService | None = None
        self.s3: S3Service | None = None
        self.s3_api: S3API | None = None
        self.functions: FunctionService | None = None
        self.sqs: SqsService | None = None
        self.sns: SnsService | None = None
        self.kinesis: KinesisService | None = None
        self.firehose: FirehoseService | None = None
        self.cloudwatch: CloudWatchService | None = None
        self.logs: LogsService | None = None
        self.oneclick: OneClickAPI | None = None
        self.oneclick_factory: oneclick_factory.Factory | None = None
        self.endpoints: dict[str, Any] = {}

    @property
    def endpoints_file(self) -> Path:
        return self.data_dir / ENDPOINTS_FILE

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / CREDENTIALS_FILE

    def _asgi_app(self) -> Starlette:
        async def mqtt_endpoint(websocket: WebSocket) -> None:
            keys = self.api.keys if self.api is not None else None
            sigv4 = SigV4Access(keys.secret_for, self.config.region) if keys is not None else None
            await mqtt_over_websocket(websocket, self.broker, sigv4)

        async def health(request: Request) -> JSONResponse:
            stats = dataclasses.asdict(self.broker.stats)
            sns = dataclasses.asdict(self.sns.deliveries.stats) if self.sns is not None else {}
            return JSONResponse(
                {
                    "status": "ok",
                    "open_connections": len(self.broker.connections),
                    **stats,
                    "sns_deliveries": sns,
                }
            )

        async def prometheus_metrics(request: Request) -> Response:
            series = await self.cloudwatch.list_metrics() if self.cloudwatch is not None else []
            return Response(exposition.render(exposition.families(series, *self._counters())),
                            media_type=exposition.CONTENT_TYPE)  # fmt: skip

        async def sns_link(request: Request) -> Response:
            """The links SNS sends subscribers: SubscribeURL (confirm), UnsubscribeURL, SigningCertURL."""
            assert self.sns is not None
            action = request.path_params["action"]
            if action == "SimpleNotificationService.pem":
                return Response(self.sns.signer.certificate_pem, media_type="application/x-pem-file")
            query = request.query_params
            try:
                if action == "confirm":
                    arn = await self.sns.confirm_subscription(
                        query.get("TopicArn", ""), query.get("Token", "")
                    )
                    body = (
                        '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                        f"<ConfirmSubscriptionResult><SubscriptionArn>{escape(arn)}</SubscriptionArn>"
                        "</ConfirmSubscriptionResult></ConfirmSubscriptionResponse>"
                    )
                    return Response(body, media_type="text/xml")
                if action == "unsubscribe":
                    await self.sns.unsubscribe(query.get("SubscriptionArn", ""))
                    return Response("You have been unsubscribed.\n", media_type="text/plain")
            except SnsError as exc:
                return Response(f"{exc.message}\n", status_code=exc.status, media_type="text/plain")
            return Response("Not Found\n", status_code=404, media_type="text/plain")

        async def aws_api(scope: Any, receive: Any, send: Any) -> None:
            assert self.api is not None, "the API is created before the listeners start"
            if self.s3_api is not None and await self.s3_api.claims(scope):
                await self.s3_api(scope, receive, send)  # streams bodies; virtual-host buckets; S3's errors
                return
            if self.oneclick is not None and OneClickAPI.claims(scope):
                await self.oneclick(scope, receive, send)  # two services signing as iot1click
                return
            await self.api(scope, receive, send)

        async def function_code_download(request: Request) -> Any:
            assert self.functions is not None
            return await function_code.download(self.functions, request)

        async def oneclick_manufacture(request: Request) -> Any:
            assert self.oneclick_factory is not None
            return await self.oneclick_factory.endpoint(request)

        return Starlette(
            routes=[
                Route(oneclick_factory.ROUTE, oneclick_manufacture, methods=["POST"]),
                Route(function_code.ROUTE, function_code_download, methods=["GET"]),
                WebSocketRoute("/mqtt", mqtt_endpoint),
                Route("/health", health, methods=["GET"]),
                Route("/metrics", prometheus_metrics, methods=["GET"]),
                Route("/_corral/sns/{action}", sns_link, methods=["GET"]),
                Mount("/", app=aws_api),
            ]
        )

    def _counters(self) -> tuple[dict[str, tuple[str, float]], dict[str, tuple[str, float]]]:
        """The /health counters as Prometheus families (docs/metrics.md): ({counter: (help, value)},
        {gauge: (help, value)})."""
        counters = {
            f"corral_broker_{name}": (f"broker: {name.replace('_', ' ')}", float(value))
            for name, value in dataclasses.asdict(self.broker.stats).items()
        }
        if self.sns is not None:
            for name, value in dataclasses.asdict(self.sns.deliveries.stats).items():
                counters[f"corral_sns_delivery_{name}"] = (f"SNS deliveries: {name.replace('_', ' ')}", value)
        if self.firehose is not None:
            for name, value in dataclasses.asdict(self.firehose.stats).items():
                counters[f"corral_firehose_{name}"] = (f"Firehose: {name.replace('_', ' ')}", value)
        open_connections = float(len(self.broker.connections))
        gauges = {"corral_broker_open_connections": ("open MQTT connections", open_connections)}
        return counters, gauges

    async def _start_control_plane(
        self, endpoints: dict[str, str], pki: CorralPKI, tls_contexts: list[ssl.SSLContext]
    ) -> None:
        """The store, the administrator's key, the AWS API with the registry behind it, and the registry
        as the broker's authenticator and authorizer."""
        config = self.config
        self.store = store = await Store.open(config.database_url, self.data_dir)
        keys = AccessKeys(store)
        await keys.ensure_admin(self.credentials_file, PROFILE, config.account_id, config.region)
        context = RegistryContext(
            store=store,
            account_id=config.account_id,
            region=config.region,
            publish=self.broker.publish_internal,
        )
        await load_event_configurations(context)
        http_url = f"http://{endpoints['http']}"
        self.functions = functions = FunctionService(
            store, self.data_dir, config.account_id, config.region, endpoint_url=http_url,
            credentials=await function_credentials(
                keys, self.data_dir / "functions" / ".credentials", config.account_id, config.region
            ),
        )  # fmt: skip
        await functions.start()
        parts: list[object] = [
            Endpoints(mqtts=endpoints["mqtts"], https=endpoints["https"]),
            Things(context),
            ThingTypes(context, deprecation_wait_seconds=config.thing_type_deprecation_wait),
            ThingGroups(context),
            ThingGroupMembers(context),
            Principals(context),
            Tags(context),
            EventConfigurations(context),
            Certificates(context, pki),
            CACertificates(context),
            Policies(context),
        ]
        broker = self.broker
        rule_services = ActionServices(
            publish=broker.publish,
            limits=config.limits,
            max_republish_hops=config.rules.max_republish_hops,
            http_timeout=config.rules.http_timeout,
            loops_cut=loop_counter(broker.stats),
            functions=functions,
        )
        external.connect(rule_services, config.external_services, config.external_actions)
        engine = iot_sql()
        self.rules = rules = RulesRunner(
            engine, rule_services, config.rules, config.account_id, config.region
        )
        topic_rules = TopicRules(context, engine, rules, rule_services, config.limits)
        parts.append(topic_rules)
        self.broker.authenticator = RegistryAuthenticator(context)
        self.broker.authorizer = PolicyAuthorizer(context)
        await TrustAnchors(context, tls_contexts).load()
        self.registry = RegistryService(context, parts)
        self.shadows = shadows = ShadowService(
            store, config.account_id, _shadow_answers(broker), config.shadow_limits
        )
        broker.message_hooks.append(
            lambda message: shadows.on_message(message.topic, message.payload, message.hops)
        )
        rules.external.shadows = shadows
        rules.external.describe_thing = self.registry.handler("DescribeThing")
        await topic_rules.load()
        broker.message_hooks.append(rules.on_message)
        self.api = AWSAPI(keys)
        self.api.add_service("iot", "iot", self.registry.handler)
        data_plane = IoTDataAPI(shadows, broker)
        self.api.add_service(
            "iotdata", "iot-data", data_plane.handler, data_plane.permissions, iot_data.route_path
        )
        self.api.certificates = CertificateRequests(context)
        self.dynamodb = DynamoDbService(store, config.account_id, config.region)
        self.api.add_service("dynamodb", "dynamodb", DynamoDbAPI(self.dynamodb).handler)
        self.s3 = S3Service(store, self.data_dir, config.account_id, config.region)
        await self.s3.start()
        self.s3_api = S3API(self.s3, keys.secret_for, config.hostnames)
        lambda_api = LambdaAPI(functions, lambda name, rev: function_code.code_url(http_url, name, rev))
        self.api.add_service("lambda", "lambda", lambda_api.handler)
        self.sqs = SqsService(store, config.account_id, config.region, http_url)
        self.api.add_service("sqs", "sqs", SqsAPI(self.sqs).handler)
        self.sns = SnsService(
            store, config.account_id, config.region, f"https://{endpoints['https']}",
            Signer.load_or_create(pki, self.data_dir), self.sqs, smtp_url=config.smtp_url,
            sms_gateway_url=config.sms_gateway_url, functions=functions, https_verify=_https_verify(pki),
        )  # fmt: skip
        self.api.add_service("sns", "sns", SnsAPI(self.sns).handler)
        self.kinesis = KinesisService(store, self.data_dir, config.account_id, config.region)
        await self.kinesis.start()
        self.api.add_service("kinesis", "kinesis", KinesisAPI(self.kinesis).handler)
        self.firehose = FirehoseService(store, self.data_dir, self.s3, config.account_id, config.region)
        await self.firehose.start()
        self.api.add_service("firehose", "firehose", FirehoseAPI(self.firehose).handler)
        self.cloudwatch = CloudWatchService(store, config.account_id, config.region)
        self.api.add_service("monitoring", "cloudwatch", CloudWatchAPI(self.cloudwatch).handler)
        self.logs = LogsService(store, config.account_id, config.region)
        self.api.add_service("logs", "logs", LogsAPI(self.logs).handler)
        external.embed(
            rule_services, sqs=self.sqs, sns=self.sns, dynamodb=self.dynamodb, s3=self.s3,
            kinesis=self.kinesis, firehose=self.firehose, cloudwatch=self.cloudwatch, logs=self.logs,
        )  # fmt: skip
        if resumed := await self.sns.resume():
            log.info("resumed %d SNS deliveries", resumed)
        # AWS IoT 1-Click: callbacks to functions and (SendSMS, SendEmail) SNS; metrics into CloudWatch.
        oneclick_metrics = EventMetrics(CloudWatchSink(self.cloudwatch))
        dispatcher = ServiceDispatcher(functions, SnsNotifier(self.sns), oneclick_metrics)
        devices = DeviceService(store, config.account_id, config.region, dispatcher, metrics=oneclick_metrics)
        projects = ProjectService(store, config.account_id, config.region, config.oneclick)
        self.oneclick = OneClickAPI(keys, devices, projects)
        registry = self.registry.handler
        self.oneclick_factory = oneclick_factory.Factory(devices, pki, registry, self.data_dir, keys)
        broker.message_hooks.append(ClickIngest(devices))

    async def start(self) -> dict[str, Any]:
        config = self.config
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.endpoints_file.unlink()  # a stale file from an earlier run must not be trusted
        self.pki = pki = ensure_pki(self.data_dir, config.hostnames)
        restored = load_state(self.broker, self.data_dir)
        if restored:
            log.info("restored %d persistent sessions", restored)

        # Bind every socket first: the addresses are part of what the control plane answers.
        mqtts = bind_sockets(_hosts(config.host), config.mqtts_port)
        # The insecure port authenticates nobody, so it never leaves the machine.
        insecure = (
            bind_sockets(LOOPBACK, config.insecure_mqtt_port) if config.insecure_mqtt_port is not None else []
        )
        https = bind_sockets(_hosts(config.host), config.https_port)
        http = bind_sockets(LOOPBACK, config.http_port)
        display = _display_host(config.host)
        addresses = {
            "mqtts": f"{display}:{mqtts[0].getsockname()[1]}",
            "https": f"{display}:{https[0].getsockname()[1]}",
            "http": f"127.0.0.1:{http[0].getsockname()[1]}",
        }
        mqtt_ctx = mqtt_server_ssl_context(pki)
        https_ctx = https_server_ssl_context(pki)
        await self._start_control_plane(addresses, pki, [mqtt_ctx, https_ctx])

        self.broker.start()
        loop = asyncio.get_running_loop()
        broker = self.broker
        for sock in mqtts:
            self._servers.append(
                await loop.create_server(
                    lambda: MQTTConnection(broker, "mqtts"), sock=sock, ssl=mqtt_ctx, backlog=1024
                )
            )
        for sock in insecure:
            self._servers.append(
                await loop.create_server(
                    lambda: MQTTConnection(broker, "mqtt-insecure"), sock=sock, backlog=1024
                )
            )
        for sock in https:
            await self.http.listen(sock, https_ctx)
        for sock in http:
            await self.http.listen(sock, None)

        self.endpoints = {
            **addresses,
            "mqtt_insecure": f"127.0.0.1:{insecure[0].getsockname()[1]}" if insecure else None,
            "ca_file": str(pki.ca_cert_file.resolve()),
            "credentials_file": str(self.credentials_file.resolve()),
            "profile": PROFILE,
            "account_id": config.account_id,
            "region": config.region,
        }
        tmp = self.endpoints_file.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self.endpoints, option=orjson.OPT_INDENT_2))
        os.replace(tmp, self.endpoints_file)
        return self.endpoints

    async def stop(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.endpoints_file.unlink()
        for server in self._servers:
            server.close()
        await self.broker.stop()
        await self.http.close()
        if self.functions is not None:
            await self.functions.close()
        if self.sns is not None:
            await self.sns.deliveries.close()
        # Let the transports deliver the DISCONNECTs and close before the loop goes away.
        await asyncio.sleep(0)
        if self.rules is not None:
            await self.rules.close()
        if self.firehose is not None:
            await self.firehose.close()  # delivers what is buffered, before the store closes
        if self.kinesis is not None:
            await self.kinesis.close()
        save_state(self.broker, self.data_dir)
        if self.store is not None:
            await self.store.close()


def _shadow_answers(broker: Broker) -> Callable[[str, bytes, int], None]:
    """The shadow service's publish: a broker message carrying the hop count of the request it answers
    (``REQUEST_HOPS``), so that rule loops through a shadow are cut."""

    def publish(topic: str, payload: bytes, qos: int) -> None:
        message = Message(topic, payload, qos)
        message.hops = REQUEST_HOPS.get()
        broker.publish(message)

    return publish


def _https_verify(pki: CorralPKI) -> ssl.SSLContext:
    """SNS's HTTPS deliveries trust the system's CAs and Corral's own (a subscriber inside Corral)."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(pki.ca_cert_file))
    return context


def describe(endpoints: dict[str, Any], data_dir: Path) -> str:
    lines = [
        f"Corral is up. Data dir: {data_dir}",
        f"  MQTT over TLS (client certificate)  {endpoints['mqtts']}",
        f"  HTTPS, MQTT over WSS at /mqtt        https://{endpoints['https']}",
        f"  HTTP (loopback only)                 http://{endpoints['http']}",
    ]
    if endpoints["mqtt_insecure"]:
        lines.append(f"  MQTT without TLS (loopback, no auth) {endpoints['mqtt_insecure']}")
    lines += [
        f"  Root CA                              {endpoints['ca_file']}",
        f"  Endpoints file                       {data_dir / ENDPOINTS_FILE}",
    ]
    return "\n".join(lines)


async def serve(config: Config, stop: asyncio.Event) -> None:
    server = CorralServer(config)
    endpoints = await server.start()
    print(describe(endpoints, config.data_dir), flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()
        print("Corral stopped.", flush=True)
