"""Which reason codes each MQTT 5 packet may carry (spec sections 3.2.2.2 to 3.15.2.1), and the 3.1.1 ones.

The decoder rejects a reason code outside its packet's set with PROTOCOL_ERROR: a peer that sends one is
not speaking the protocol, and the broker must not act on a code it cannot interpret.
"""

from __future__ import annotations

from typing import Final

from corral.mqtt.errors import SUBACK_FAILURE_311, ConnackCode311
from corral.mqtt.errors import ReasonCode as R

CONNACK_5: Final = frozenset(
    {
        R.SUCCESS,
        R.UNSPECIFIED_ERROR,
        R.MALFORMED_PACKET,
        R.PROTOCOL_ERROR,
        R.IMPLEMENTATION_SPECIFIC_ERROR,
        R.UNSUPPORTED_PROTOCOL_VERSION,
        R.CLIENT_IDENTIFIER_NOT_VALID,
        R.BAD_USER_NAME_OR_PASSWORD,
        R.NOT_AUTHORIZED,
        R.SERVER_UNAVAILABLE,
        R.SERVER_BUSY,
        R.BANNED,
        R.BAD_AUTHENTICATION_METHOD,
        R.TOPIC_NAME_INVALID,
        R.PACKET_TOO_LARGE,
        R.QUOTA_EXCEEDED,
        R.PAYLOAD_FORMAT_INVALID,
        R.RETAIN_NOT_SUPPORTED,
        R.QOS_NOT_SUPPORTED,
        R.USE_ANOTHER_SERVER,
        R.SERVER_MOVED,
        R.CONNECTION_RATE_EXCEEDED,
    }
)
CONNACK_311: Final = frozenset(ConnackCode311)

PUBACK_5: Final = frozenset(
    {
        R.SUCCESS,
        R.NO_MATCHING_SUBSCRIBERS,
        R.UNSPECIFIED_ERROR,
        R.IMPLEMENTATION_SPECIFIC_ERROR,
        R.NOT_AUTHORIZED,
        R.TOPIC_NAME_INVALID,
        R.PACKET_IDENTIFIER_IN_USE,
        R.QUOTA_EXCEEDED,
        R.PAYLOAD_FORMAT_INVALID,
    }
)
"""PUBACK and PUBREC."""

PUBREL_5: Final = frozenset({R.SUCCESS, R.PACKET_IDENTIFIER_NOT_FOUND})
"""PUBREL and PUBCOMP."""

SUBACK_5: Final = frozenset(
    {
        R.SUCCESS,
        R.GRANTED_QOS_1,
        R.GRANTED_QOS_2,
        R.UNSPECIFIED_ERROR,
        R.IMPLEMENTATION_SPECIFIC_ERROR,
        R.NOT_AUTHORIZED,
        R.TOPIC_FILTER_INVALID,
        R.PACKET_IDENTIFIER_IN_USE,
        R.QUOTA_EXCEEDED,
        R.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED,
        R.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
        R.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
    }
)
SUBACK_311: Final = frozenset({0, 1, 2, SUBACK_FAILURE_311})

UNSUBACK_5: Final = frozenset(
    {
        R.SUCCESS,
        R.NO_SUBSCRIPTION_EXISTED,
        R.UNSPECIFIED_ERROR,
        R.IMPLEMENTATION_SPECIFIC_ERROR,
        R.NOT_AUTHORIZED,
        R.TOPIC_FILTER_INVALID,
        R.PACKET_IDENTIFIER_IN_USE,
    }
)

DISCONNECT_5: Final = frozenset(
    {
        R.SUCCESS,
        R.DISCONNECT_WITH_WILL_MESSAGE,
        R.UNSPECIFIED_ERROR,
        R.MALFORMED_PACKET,
        R.PROTOCOL_ERROR,
        R.IMPLEMENTATION_SPECIFIC_ERROR,
        R.NOT_AUTHORIZED,
        R.SERVER_BUSY,
        R.SERVER_SHUTTING_DOWN,
        R.KEEP_ALIVE_TIMEOUT,
        R.SESSION_TAKEN_OVER,
        R.TOPIC_FILTER_INVALID,
        R.TOPIC_NAME_INVALID,
        R.RECEIVE_MAXIMUM_EXCEEDED,
        R.TOPIC_ALIAS_INVALID,
        R.PACKET_TOO_LARGE,
        R.MESSAGE_RATE_TOO_HIGH,
        R.QUOTA_EXCEEDED,
        R.ADMINISTRATIVE_ACTION,
        R.PAYLOAD_FORMAT_INVALID,
        R.RETAIN_NOT_SUPPORTED,
        R.QOS_NOT_SUPPORTED,
        R.USE_ANOTHER_SERVER,
        R.SERVER_MOVED,
        R.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED,
        R.CONNECTION_RATE_EXCEEDED,
        R.MAXIMUM_CONNECT_TIME,
        R.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
        R.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
    }
)

AUTH_5: Final = frozenset({R.SUCCESS, R.CONTINUE_AUTHENTICATION, R.RE_AUTHENTICATE})
