"""Byte fixtures of every MQTT packet type, written by hand from the 3.1.1 and 5.0 specifications.

Each fixture is the exact wire form of a packet object; remaining lengths and property lengths were
counted by hand (the comments show the sums). They are never produced by our encoder, so a bug shared by
the encoder and the decoder cannot hide behind a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.mqtt.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from corral.mqtt.properties import Properties


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@dataclass(frozen=True)
class Fixture:
    name: str
    version: int
    data: bytes
    packet: Packet
    canonical: bool = True
    """False for wire forms our encoder does not produce (non-minimal but valid encodings)."""


MQTT = h("00 04") + b"MQTT"

FIXTURES_311: list[Fixture] = [
    # VH: name 6 + level 1 + flags 1 + keep alive 2 = 10; payload: client id 3 -> 13.
    Fixture("connect-min", 4, h("10 0D") + MQTT + h("04 02 00 3C 00 01") + b"c", Connect("c")),
    # flags 0xEC: user name, password, will retain, will QoS 1, will flag; clean session 0.
    # VH 10; payload: "dev1" 6 + "w/t" 5 + "bye" 5 + "user" 6 + "pw" 4 = 26 -> 36 = 0x24.
    Fixture(
        "connect-will-auth",
        4,
        h("10 24")
        + MQTT
        + h("04 EC 00 1E")
        + h("00 04")
        + b"dev1"
        + h("00 03")
        + b"w/t"
        + h("00 03")
        + b"bye"
        + h("00 04")
        + b"user"
        + h("00 02")
        + b"pw",
        Connect(
            "dev1",
            4,
            clean_start=False,
            keep_alive=30,
            will=Will("w/t", b"bye", 1, True),
            username="user",
            password=b"pw",
        ),
    ),
    # Empty client id (allowed), keep alive 0.
    Fixture(
        "connect-empty-client-id", 4, h("10 0C") + MQTT + h("04 02 00 00 00 00"), Connect("", keep_alive=0)
    ),
    Fixture("connack-session-present", 4, h("20 02 01 00"), Connack(0, session_present=True)),
    Fixture("connack-not-authorized", 4, h("20 02 00 05"), Connack(5)),
    # topic 5 + payload 2 = 7.
    Fixture("publish-qos0", 4, h("30 07 00 03") + b"a/b" + b"hi", Publish("a/b", b"hi")),
    Fixture("publish-qos0-retain", 4, h("31 07 00 03") + b"a/b" + b"hi", Publish("a/b", b"hi", retain=True)),
    # topic 5 + packet id 2 + payload 2 = 9.
    Fixture(
        "publish-qos1",
        4,
        h("32 09 00 03") + b"a/b" + h("00 0A") + b"hi",
        Publish("a/b", b"hi", 1, packet_id=10),
    ),
    # 0x3D = PUBLISH | DUP | QoS 2 | RETAIN; topic 5 + packet id 2, empty payload = 7.
    Fixture(
        "publish-qos2-dup-retain",
        4,
        h("3D 07 00 03") + b"a/b" + h("00 0B"),
        Publish("a/b", b"", 2, retain=True, dup=True, packet_id=11),
    ),
    Fixture("puback", 4, h("40 02 00 0A"), Puback(10)),
    Fixture("pubrec", 4, h("50 02 00 0A"), Pubrec(10)),
    Fixture("pubrel", 4, h("62 02 00 0A"), Pubrel(10)),
    Fixture("pubcomp", 4, h("70 02 00 0A"), Pubcomp(10)),
    # packet id 2 + ("a/b" 5 + QoS 1) + ("c/#" 5 + QoS 2) = 14.
    Fixture(
        "subscribe",
        4,
        h("82 0E 00 01 00 03") + b"a/b" + h("01 00 03") + b"c/#" + h("02"),
        Subscribe(1, [Subscription("a/b", 1), Subscription("c/#", 2)]),
    ),
    Fixture("suback", 4, h("90 04 00 01 01 80"), Suback(1, [1, 0x80])),
    # packet id 2 + "a/b" 5 = 7.
    Fixture("unsubscribe", 4, h("A2 07 00 02 00 03") + b"a/b", Unsubscribe(2, ["a/b"])),
    Fixture("unsuback", 4, h("B0 02 00 02"), Unsuback(2)),
    Fixture("pingreq", 4, h("C0 00"), Pingreq()),
    Fixture("pingresp", 4, h("D0 00"), Pingresp()),
    Fixture("disconnect", 4, h("E0 00"), Disconnect()),
    # A remaining length of 0 written in two bytes: not minimal, still valid.
    Fixture("pingreq-long-length", 4, h("C0 80 00"), Pingreq(), canonical=False),
]

# --- MQTT 5.0 ---------------------------------------------------------------------------------------------

# Our encoder writes properties in identifier order; the spec allows any order (see the "unordered"
# fixture below).
# CONNECT properties: session expiry 3600 (5) + request problem information 0 (2) + receive maximum 20 (3)
# + topic alias maximum 10 (3) + user property k=v (7) + maximum packet size 1024 (5) = 25 = 0x19.
_CONNECT_PROPS = h("19 11 00 00 0E 10 17 00 21 00 14 22 00 0A 26 00 01 6B 00 01 76 27 00 00 04 00")
# Will properties: payload format 1 (2) + message expiry 60 (5) + content type "text/plain" (13)
# + response topic "r/t" (6) + correlation data 01 02 (5) + will delay 5 (5) + user property a=b (7) = 43.
_WILL_PROPS = (
    h("2B 01 01 02 00 00 00 3C 03 00 0A")
    + b"text/plain"
    + h("08 00 03")
    + b"r/t"
    + h("09 00 02 01 02 18 00 00 00 05 26 00 01 61 00 01 62")
)
# CONNACK properties, 65 = 0x41 bytes in all.
_CONNACK_PROPS = (
    h("41")
    + h("11 00 00 00 64")  # session expiry interval 100 (5)
    + h("12 00 05")  # assigned client identifier (8)
    + b"gen-1"
    + h("13 00 78")  # server keep alive 120 (3)
    + h("15 00 01")  # authentication method (4)
    + b"m"
    + h("16 00 01")  # authentication data (4)
    + b"d"
    + h("1A 00 04")  # response information (7)
    + b"resp"
    + h("1C 00 05")  # server reference (8)
    + b"other"
    + h("1F 00 02")  # reason string (5)
    + b"ok"
    + h("21 00 0A")  # receive maximum 10 (3)
    + h("22 00 05")  # topic alias maximum 5 (3)
    + h("24 01")  # maximum QoS 1 (2)
    + h("25 00")  # retain available 0 (2)
    + h("27 00 01 00 00")  # maximum packet size 65536 (5)
    + h("28 01")  # wildcard subscription available (2)
    + h("29 00")  # subscription identifiers available (2)
    + h("2A 01")  # shared subscription available (2)
)
# PUBLISH properties: payload format 1 (2) + message expiry 30 (5) + content type "json" (7)
# + response topic "r" (4) + correlation data AA (4) + subscription identifiers 1 (2) and 200 (3)
# + topic alias 4 (3) + user properties a=1, a=2 (7 + 7) = 44 = 0x2C.
_PUBLISH_PROPS = (
    h("2C 01 01 02 00 00 00 1E 03 00 04")
    + b"json"
    + h("08 00 01")
    + b"r"
    + h("09 00 01 AA 0B 01 0B C8 01 23 00 04 26 00 01 61 00 01 31 26 00 01 61 00 01 32")
)
_USER_KV = h("26 00 01 6B 00 01 76")  # user property k=v, 7 bytes

FIXTURES_5: list[Fixture] = [
    # VH: 10 + property length 1 = 11; payload 3 -> 14.
    Fixture("connect-min", 5, h("10 0E") + MQTT + h("05 02 00 3C 00 00 01") + b"c", Connect("c", 5)),
    # flags 0xF6: user name, password, will retain, will QoS 2, will flag, clean start.
    # VH: 10 + 1 + 25 = 36; payload: "dev1" 6 + will properties 1 + 43 + "w/t" 5 + "bye" 5 + "user" 6
    # + "pw" 4 = 70 -> 106 = 0x6A.
    Fixture(
        "connect-will-auth-properties",
        5,
        h("10 6A")
        + MQTT
        + h("05 F6 00 1E")
        + _CONNECT_PROPS
        + h("00 04")
        + b"dev1"
        + _WILL_PROPS
        + h("00 03")
        + b"w/t"
        + h("00 03")
        + b"bye"
        + h("00 04")
        + b"user"
        + h("00 02")
        + b"pw",
        Connect(
            "dev1",
            5,
            clean_start=True,
            keep_alive=30,
            will=Will(
                "w/t",
                b"bye",
                2,
                True,
                Properties(
                    will_delay_interval=5,
                    payload_format_indicator=1,
                    message_expiry_interval=60,
                    content_type="text/plain",
                    response_topic="r/t",
                    correlation_data=b"\x01\x02",
                    user_properties=[("a", "b")],
                ),
            ),
            username="user",
            password=b"pw",
            properties=Properties(
                session_expiry_interval=3600,
                receive_maximum=20,
                maximum_packet_size=1024,
                topic_alias_maximum=10,
                request_problem_information=0,
                user_properties=[("k", "v")],
            ),
        ),
    ),
    # flags 0x42: password without user name, allowed in 5.0. VH 11; payload 3 + 4 = 7 -> 18.
    Fixture(
        "connect-password-only",
        5,
        h("10 12") + MQTT + h("05 42 00 3C 00 00 01") + b"c" + h("00 02") + b"pw",
        Connect("c", 5, password=b"pw"),
    ),
    # CONNECT properties out of identifier order: maximum packet size 1024 (5), user property k=v (7),
    # receive maximum 20 (3) = 15 = 0x0F. VH 10 + 1 + 15 = 26; payload 3 -> 29 = 0x1D.
    Fixture(
        "connect-properties-unordered",
        5,
        h("10 1D") + MQTT + h("05 02 00 3C 0F 27 00 00 04 00") + _USER_KV + h("21 00 14 00 01") + b"c",
        Connect(
            "c",
            5,
            properties=Properties(maximum_packet_size=1024, user_properties=[("k", "v")], receive_maximum=20),
        ),
        canonical=False,
    ),
    Fixture("connack-min", 5, h("20 03 00 00 00"), Connack(0)),
    Fixture("connack-not-authorized", 5, h("20 03 00 87 00"), Connack(0x87)),
    # flags 1 + code 1 + property length 1 + 65 = 68 = 0x44.
    Fixture(
        "connack-properties",
        5,
        h("20 44 01 00") + _CONNACK_PROPS,
        Connack(
            0,
            True,
            Properties(
                receive_maximum=10,
                maximum_qos=1,
                retain_available=0,
                maximum_packet_size=65536,
                assigned_client_identifier="gen-1",
                topic_alias_maximum=5,
                reason_string="ok",
                wildcard_subscription_available=1,
                subscription_identifier_available=0,
                shared_subscription_available=1,
                server_keep_alive=120,
                response_information="resp",
                server_reference="other",
                session_expiry_interval=100,
                authentication_method="m",
                authentication_data=b"d",
            ),
        ),
    ),
    # topic 5 + property length 1 + payload 2 = 8.
    Fixture("publish-qos0", 5, h("30 08 00 03") + b"a/b" + h("00") + b"hi", Publish("a/b", b"hi")),
    # topic 5 + packet id 2 + property length 1 + 44 + payload 2 = 54 = 0x36.
    Fixture(
        "publish-qos1-properties",
        5,
        h("32 36 00 03") + b"a/b" + h("00 0A") + _PUBLISH_PROPS + b"hi",
        Publish(
            "a/b",
            b"hi",
            1,
            packet_id=10,
            properties=Properties(
                payload_format_indicator=1,
                message_expiry_interval=30,
                content_type="json",
                response_topic="r",
                correlation_data=b"\xaa",
                subscription_identifiers=[1, 200],
                topic_alias=4,
                user_properties=[("a", "1"), ("a", "2")],
            ),
        ),
    ),
    # 0x35 = PUBLISH | QoS 2 | RETAIN; topic 5 + packet id 2 + property length 1 + payload 2 = 10.
    Fixture(
        "publish-qos2-retain",
        5,
        h("35 0A 00 03") + b"a/b" + h("00 0B 00") + b"hi",
        Publish("a/b", b"hi", 2, retain=True, packet_id=11),
    ),
    # 0x3C = PUBLISH | DUP | QoS 2; user property k=v: topic 5 + packet id 2 + 1 + 7 = 15 (empty payload).
    Fixture(
        "publish-qos2-dup-properties",
        5,
        h("3C 0F 00 03") + b"a/b" + h("00 0C 07") + _USER_KV,
        Publish("a/b", b"", 2, dup=True, packet_id=12, properties=Properties(user_properties=[("k", "v")])),
    ),
    # Empty topic name with a Topic Alias: topic 2 + property length 1 + alias 3 + payload 2 = 8.
    Fixture(
        "publish-topic-alias-only",
        5,
        h("30 08 00 00 03 23 00 01") + b"hi",
        Publish("", b"hi", properties=Properties(topic_alias=1)),
    ),
    # topic 5 + property length 1 + payload 200 = 206 = 0xCE -> remaining length CE 01.
    Fixture(
        "publish-two-byte-length",
        5,
        h("30 CE 01 00 03") + b"a/b" + h("00") + b"x" * 200,
        Publish("a/b", b"x" * 200),
    ),
    Fixture("puback-short", 5, h("40 02 00 0A"), Puback(10)),
    Fixture("puback-reason", 5, h("40 03 00 0A 10"), Puback(10, 0x10)),
    # packet id 2 + reason 1 + property length 1 + reason string "no" 5 = 9.
    Fixture(
        "puback-reason-properties",
        5,
        h("40 09 00 0A 80 05 1F 00 02") + b"no",
        Puback(10, 0x80, Properties(reason_string="no")),
    ),
    # Reason code 0 and an empty property block written out: valid, though we encode the short form.
    Fixture("puback-explicit-empty", 5, h("40 04 00 0A 00 00"), Puback(10), canonical=False),
    Fixture("pubrec-short", 5, h("50 02 00 0A"), Pubrec(10)),
    Fixture("pubrec-reason", 5, h("50 03 00 0A 10"), Pubrec(10, 0x10)),
    # packet id 2 + reason 1 + property length 1 + 7 = 11.
    Fixture(
        "pubrec-properties",
        5,
        h("50 0B 00 0A 00 07") + _USER_KV,
        Pubrec(10, 0, Properties(user_properties=[("k", "v")])),
    ),
    Fixture("pubrel-short", 5, h("62 02 00 0A"), Pubrel(10)),
    Fixture("pubrel-reason", 5, h("62 03 00 0A 92"), Pubrel(10, 0x92)),
    Fixture(
        "pubrel-properties",
        5,
        h("62 09 00 0A 92 05 1F 00 02") + b"no",
        Pubrel(10, 0x92, Properties(reason_string="no")),
    ),
    Fixture("pubcomp-short", 5, h("70 02 00 0A"), Pubcomp(10)),
    Fixture("pubcomp-reason", 5, h("70 03 00 0A 92"), Pubcomp(10, 0x92)),
    Fixture(
        "pubcomp-properties",
        5,
        h("70 0B 00 0A 00 07") + _USER_KV,
        Pubcomp(10, 0, Properties(user_properties=[("k", "v")])),
    ),
    # packet id 2 + property length 1 + "a/b" 5 + options 1 = 9.
    Fixture(
        "subscribe-min", 5, h("82 09 00 01 00 00 03") + b"a/b" + h("00"), Subscribe(1, [Subscription("a/b")])
    ),
    # Properties: subscription identifier 5 (2) + k=v (7) = 9. Options 0x2D = retain handling 2,
    # retain as published, no local, QoS 1; 0x10 = retain handling 1, QoS 0.
    # packet id 2 + 1 + 9 + ("a/b" 5 + 1) + ("c/#" 5 + 1) = 24 = 0x18.
    Fixture(
        "subscribe-options-properties",
        5,
        h("82 18 00 01 09 0B 05") + _USER_KV + h("00 03") + b"a/b" + h("2D 00 03") + b"c/#" + h("10"),
        Subscribe(
            1,
            [
                Subscription("a/b", 1, no_local=True, retain_as_published=True, retain_handling=2),
                Subscription("c/#", 0, retain_handling=1),
            ],
            Properties(subscription_identifiers=[5], user_properties=[("k", "v")]),
        ),
    ),
    # packet id 2 + property length 1 + 2 codes = 5.
    Fixture("suback", 5, h("90 05 00 01 00 01 97"), Suback(1, [1, 0x97])),
    # packet id 2 + 1 + reason string "ok" 5 + 2 codes = 10.
    Fixture(
        "suback-properties",
        5,
        h("90 0A 00 01 05 1F 00 02") + b"ok" + h("02 A2"),
        Suback(1, [2, 0xA2], Properties(reason_string="ok")),
    ),
    # packet id 2 + property length 1 + "a/b" 5 + "c/d" 5 = 13.
    Fixture(
        "unsubscribe",
        5,
        h("A2 0D 00 02 00 00 03") + b"a/b" + h("00 03") + b"c/d",
        Unsubscribe(2, ["a/b", "c/d"]),
    ),
    # packet id 2 + 1 + 7 + "a/b" 5 = 15.
    Fixture(
        "unsubscribe-properties",
        5,
        h("A2 0F 00 02 07") + _USER_KV + h("00 03") + b"a/b",
        Unsubscribe(2, ["a/b"], Properties(user_properties=[("k", "v")])),
    ),
    Fixture("unsuback", 5, h("B0 05 00 02 00 00 11"), Unsuback(2, [0, 0x11])),
    # packet id 2 + 1 + reason string 5 + 1 code = 9.
    Fixture(
        "unsuback-properties",
        5,
        h("B0 09 00 02 05 1F 00 02") + b"no" + h("87"),
        Unsuback(2, [0x87], Properties(reason_string="no")),
    ),
    Fixture("pingreq", 5, h("C0 00"), Pingreq()),
    Fixture("pingresp", 5, h("D0 00"), Pingresp()),
    Fixture("disconnect-normal", 5, h("E0 00"), Disconnect()),
    Fixture("disconnect-reason", 5, h("E0 01 04"), Disconnect(0x04)),
    # reason 1 + property length 1 + session expiry 0 (5) + reason string "bye" (6) = 13.
    Fixture(
        "disconnect-properties",
        5,
        h("E0 0D 04 0B 11 00 00 00 00 1F 00 03") + b"bye",
        Disconnect(0x04, Properties(session_expiry_interval=0, reason_string="bye")),
    ),
    # reason 1 + property length 1 + server reference "b2" 5 = 7.
    Fixture(
        "disconnect-server-moved",
        5,
        h("E0 07 9D 05 1C 00 02") + b"b2",
        Disconnect(0x9D, Properties(server_reference="b2")),
    ),
    Fixture("disconnect-explicit-empty", 5, h("E0 02 00 00"), Disconnect(), canonical=False),
    Fixture("auth-success", 5, h("F0 00"), Auth()),
    # reason 1 + property length 1 + method "SCRAM-SHA-1" 14 + data 01 02 5 = 21 = 0x15.
    Fixture(
        "auth-continue",
        5,
        h("F0 15 18 13 15 00 0B") + b"SCRAM-SHA-1" + h("16 00 02 01 02"),
        Auth(0x18, Properties(authentication_method="SCRAM-SHA-1", authentication_data=b"\x01\x02")),
    ),
]

ALL_FIXTURES: list[Fixture] = FIXTURES_311 + FIXTURES_5


def fixture_id(fixture: Fixture) -> str:
    return f"v{fixture.version}-{fixture.name}"
