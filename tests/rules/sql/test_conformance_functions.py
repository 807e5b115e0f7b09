"""Every example of AWS's *Functions* page, run through the real compiler (``compile_statement``).

https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html: each row names its section (the
page's anchor). An example written as ``f(x) = y`` runs as ``SELECT f(x) AS r FROM 'a/b'``; the page's full
statements run as printed (with their payloads made valid JSON). ``cast()`` is syntax: its examples are in
``test_conformance.py``. Where the page's own example contradicts its table, the row says so and checks
what the table (and AWS's Java engine) gives.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from corral.rules.sql import UNDEFINED, UnsupportedFunction, Value, compile_statement
from tests.rules.sql.conformance import run

PAGE = "https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html"


@dataclass(frozen=True)
class Example:
    section: str
    expression: str
    expected: Value
    payload: Any = field(default_factory=dict)
    topic: str = "a/b"


def ex(section: str, expression: str, expected: Value, payload: Any = None, topic: str = "a/b") -> Example:
    return Example(section, expression, expected, {} if payload is None else payload, topic)


EXAMPLES: Sequence[Example] = [
    ex("iot-func-abs", "abs(-5)", 5),
    ex("iot-sql-function-accountid", "accountid()", "123456789012"),
    ex("iot-func-acos", "acos(0)", 1.5707963267948966),
    ex("iot-func-asin", "asin(0)", 0.0),
    ex("iot-func-atan", "atan(0)", 0.0),
    ex("iot-func-atan2", "atan2(1, 0)", 1.5707963267948966),
    ex("iot-func-bitand", "bitand(13, 5)", 5),
    ex("iot-func-bitor", "bitor(8, 5)", 13),
    ex("iot-func-xbitor", "bitxor(13, 5)", 8),  # printed as bitor(13, 5) = 8: bitxor's section
    # The page prints bitnot(13) = 2, a 4-bit NOT; the NOT of a 64-bit Int (Java's ~13L) is -14.
    ex("iot-func-bitnot", "bitnot(13)", -14),
    ex("iot-func-ceil", "ceil(1.2)", 2),
    ex("iot-func-ceil", "ceil(-1.2)", -1),
    ex("iot-func-chr", "chr(65)", "A"),
    ex("iot-func-chr", "chr(49)", "1"),
    ex("iot-func-concat", "concat()", UNDEFINED),
    ex("iot-func-concat", "concat(1)", "1"),
    ex("iot-func-concat", "concat([1, 2, 3], 4)", [1, 2, 3, 4]),
    ex("iot-func-concat", 'concat([1, 2, 3], "hello")', [1, 2, 3, "hello"]),
    ex("iot-func-concat", 'concat("con", "cat")', "concat"),
    ex("iot-func-concat", 'concat(1, "hello")', "1hello"),
    ex("iot-func-concat", 'concat("he","is","man")', "heisman"),
    ex("iot-func-concat", 'concat([1, 2, 3], "hello", [4, 5, 6])', [1, 2, 3, "hello", 4, 5, 6]),
    ex("iot-func-cos", "cos(0)", 1.0),  # printed as 1: a Decimal (double)
    ex("iot-func-cosh", "cosh(2.3)", 5.037220649268761),
    ex("iot-func-endswith", 'endswith("cat","at")', True),
    ex("iot-func-exp", "exp(1)", math.e),
    ex("iot-func-floor", "floor(1.2)", 1),
    ex("iot-func-floor", "floor(-1.2)", -2),
    ex("iot-sql-function-get", 'get(["a", "b", "c"], 1)', "b"),
    ex("iot-sql-function-get", 'get({"a":"b"}, "a")', "b"),
    # Printed as get("abc", 1) = "a"; the table says "the character at the 0-based index": "b".
    ex("iot-sql-function-get", 'get("abc", 1)', "b"),
    ex("iot-sql-function-get", 'get("abc", 0)', "a"),
    ex("iot-sql-function-hash", 'md2("hello")', "a9046c73e00331af68917d3804f70655"),
    ex("iot-sql-function-hash", 'md5("hello")', "5d41402abc4b2a76b9719d911017c592"),
    ex("iot-sql-function-indexof", 'indexof("abcd", "bc")', 1),
    ex("iot-sql-function-isNull", "isNull(5)", False),
    ex("iot-sql-function-isNull", "isNull(Null)", True),
    ex("iot-sql-function-isUndefined", "isUndefined(5)", False),
    ex("iot-sql-function-isUndefined", "isUndefined(floor([1,2,3]))", True),
    ex("iot-sql-function-length", 'length("hi")', 2),
    ex("iot-sql-function-length", "length(false)", 5),
    ex("iot-func-nln", "ln(exp(1))", 1.0),  # printed as ln(e) = 1: SQL has no e literal
    ex("iot-func-log", "log(100)", 2.0),
    ex("iot-func-lower", 'lower("HELLO")', "hello"),
    ex("iot-func-lower", 'lower(["HELLO"])', '["hello"]'),
    ex("iot-func-lpad", 'lpad("hello", 2)', "  hello"),
    ex("iot-func-lpad", "lpad(1, 3)", "   1"),
    ex("iot-func-ltrim", 'Ltrim(" h i ")', "h i "),
    ex("iot-func-mod", "mod(8, 3)", 2),
    ex("iot-func-nanvl", "Nanvl(8, 3)", 8),
    ex("iot-sql-function-numbytes", 'numbytes("hi")', 2),
    ex("iot-sql-function-numbytes", 'numbytes("€")', 3),
    ex("iot-func-power", "power(2, 5)", 32.0),
    ex("iot-func-regex-matches", 'regexp_matches("aaaa", "a{2,}")', True),
    ex("iot-func-regex-matches", 'regexp_matches("aaaa", "b")', False),
    ex("iot-func-regex-replace", 'regexp_replace("abcd", "bc", "x")', "axd"),
    ex("iot-func-regex-replace", 'regexp_replace("abcd", "b(.*)d", "$1")', "ac"),
    ex("iot-func-regex-substr", 'regexp_substr("hihihello", "hi")', "hi"),
    ex("iot-func-regex-substr", 'regexp_substr("hihihello", "(hi)*")', "hihi"),
    ex("iot-func-remainder", "remainder(8, 3)", 2),
    ex("iot-func-replace", 'replace("abcd", "bc", "x")', "axd"),
    ex("iot-func-replace", 'replace("abcdabcd", "b", "x")', "axcdaxcd"),
    ex("iot-func-rpad", 'rpad("hello", 2)', "hello  "),
    ex("iot-func-rpad", "rpad(1, 3)", "1   "),
    ex("iot-func-round", "Round(1.2)", 1),
    ex("iot-func-round", "Round(1.5)", 2),
    ex("iot-func-round", "Round(1.7)", 2),
    ex("iot-func-round", "Round(-1.1)", -1),
    ex("iot-func-round", "Round(-1.5)", -2),
    ex("iot-func-rtrim", 'rtrim(" h i ")', " h i"),
    ex("iot-func-sign", "sign(-7)", -1),
    ex("iot-func-sign", "sign(0)", 0),
    ex("iot-func-sign", "sign(13)", 1),
    ex("iot-func-sin", "sin(0)", 0.0),
    ex("iot-func-sinh", "sinh(2.3)", 4.936961805545957),
    ex("iot-func-substring", 'substring("012345", 0)', "012345"),
    ex("iot-func-substring", 'substring("012345", 2)', "2345"),
    ex("iot-func-substring", 'substring("012345", 2.745)', "2345"),
    ex("iot-func-substring", "substring(123, 2)", "3"),
    ex("iot-func-substring", 'substring("012345", -1)', "012345"),
    ex("iot-func-substring", "substring(true, 1.2)", "rue"),
    ex("iot-func-substring", "substring(false, -2.411E247)", "false"),
    ex("iot-func-substring", 'substring("012345", 1, 3)', "12"),
    ex("iot-func-substring", 'substring("012345", -50, 50)', "012345"),
    ex("iot-func-substring", 'substring("012345", 3, 1)', ""),
    ex("iot-sql-function-sql-version", "sql_version()", "2016-03-23"),
    ex("iot-func-sqrt", "sqrt(9)", 3.0),
    ex("iot-func-startswith", 'startswith("ranger","ran")', True),
    ex("iot-func-tan", "tan(3)", -0.1425465430742778),
    ex("iot-func-tanh", "tanh(2.3)", 0.9800963962661914),
    ex(
        "iot-sql-function-time-to-epoch",
        'time_to_epoch("2020-04-03 09:45:18 UTC+01:00", "yyyy-MM-dd HH:mm:ss VV")',
        1585903518000,
    ),
    ex("iot-sql-function-time-to-epoch", 'time_to_epoch("18 December 2015", "dd MMMM yyyy")', 1450396800000),
    ex(
        "iot-sql-function-time-to-epoch",
        'time_to_epoch("2007-12-03 10:15:30.592 America/Los_Angeles", "yyyy-MM-dd HH:mm:ss.SSS z")',
        1196705730592,
    ),
    ex("iot-function-timestamp", "timestamp()", 1481825251155),
    ex("iot-function-topic", "topic()", "things/myThings/thingOne", topic="things/myThings/thingOne"),
    ex("iot-function-topic", "topic(1)", "things", topic="things/myThings/thingOne"),
    ex(
        "iot-function-topic",
        "topic()",
        "Buildings/Building5/Floor2/Room201/Lights",
        topic="$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights",
    ),
    ex(
        "iot-function-topic",
        "topic(3)",
        "Floor2",
        topic="$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights",
    ),
    ex("iot-func-trim", 'Trim(" hi ")', "hi"),
    ex("iot-func-trunc", "trunc(2.3, 0)", 2),
    ex("iot-func-trunc", "trunc(2.3123, 2)", 2.31),
    ex("iot-func-trunc", "trunc(2.888, 2)", 2.88),
    ex("iot-func-trunc", "trunc(2.00, 5)", 2),
    ex("iot-sql-function-upper", 'upper("hello")', "HELLO"),
    ex("iot-sql-function-upper", 'upper(["hello"])', '["HELLO"]'),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.section}:{e.expression}")
def test_function_examples(example: Example) -> None:
    result = run(f"SELECT {example.expression} AS r FROM '#'", example.payload, example.topic)
    assert isinstance(result, dict)
    if example.expected is UNDEFINED:
        assert "r" not in result  # Undefined is left out of the output
    elif isinstance(example.expected, float):
        assert result["r"] == pytest.approx(example.expected, rel=1e-15)
    else:
        assert result["r"] == example.expected
        assert type(result["r"]) is type(example.expected) or isinstance(example.expected, float)


def context_facts() -> dict[str, Any]:
    return {
        "client_id": "123456789012",  # the page's clientid() example value
        "trace_id": "12345678-1234-1234-1234-123456789012",
        "principal": "ba67293af50bf2506f5f93469686da660c7c844e7b3950bfb16813e0d31e9373",
    }


def test_message_examples() -> None:
    sql = "SELECT clientid() AS c, traceid() AS t, principal() AS p, newuuid() AS u, rand() AS r FROM 'a/b'"
    result = run(sql, {}, **context_facts())
    assert isinstance(result, dict)
    assert result["c"] == "123456789012"  # clientid() = "123456789012"
    assert result["t"] == "12345678-1234-1234-1234-123456789012"  # traceid()
    assert result["p"] == "ba67293af50bf2506f5f93469686da660c7c844e7b3950bfb16813e0d31e9373"  # principal()
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", result["u"])  # newuuid()
    assert 0.0 <= result["r"] < 1.0  # rand(): "between 0.0 and 1.0"


def test_decode_example() -> None:
    # decode(value, decodingScheme): the payload's encoded_temp decodes to { "temperature": 33 }.
    sql = "SELECT decode(encoded_temp,\"base64\").temperature AS temp from 'topic/subtopic'"
    payload = {"encoded_temp": "eyAidGVtcGVyYXR1cmUiOiAzMyB9Cg=="}
    assert run(sql, payload, "topic/subtopic") == {"temp": 33}


def test_encode_of_the_whole_payload() -> None:
    # encode(value, encodingScheme): "You can specify * to encode the entire payload, regardless of whether
    # it's in JSON format."
    assert run("SELECT encode(*, 'base64') AS e FROM 'a/b'", b"\x00\x01\xff") == {"e": "AAH/"}
    assert run("SELECT encode(*, 'base64') AS e FROM 'a/b'", b'{"a": 1}') == {"e": "eyJhIjogMX0="}


def test_parse_time_examples() -> None:
    sql = (
        "SELECT parse_time(\"yyyy.MM.dd G 'at' HH:mm:ss z\", 100000000, \"America/Belize\" ) as ts FROM 'A/B'"
    )
    assert run(sql, {}, "A/B") == {"ts": "1970.01.01 AD at 21:46:40 CST"}
    # "a payload similar to {"ts": "2017.06.09 AD at 17:19:46 UTC"} (but with the current date/time)"
    sql = "SELECT parse_time(\"yyyy.MM.dd G 'at' HH:mm:ss z\", timestamp() ) as ts FROM 'A/B'"
    assert run(sql, {}, "A/B", timestamp_ms=1497028786000) == {"ts": "2017.06.09 AD at 17:19:46 UTC"}
    # The substitution-template example: parse_time("yyyy", timestamp(), "UTC") = "2017".
    sql = 'SELECT parse_time("yyyy", timestamp(), "UTC") AS key FROM \'A/B\''
    assert run(sql, {}, "A/B", timestamp_ms=1497028786000) == {"key": "2017"}


TRANSFORM_PAYLOAD = {"attributes": {"data1": 1, "data2": 2}, "values": [{"a": 3}, {"b": 4}, {"c": 5}]}
NESTED_PAYLOAD = {
    "data1": "example",
    "data2": {
        "a": "first attribute",
        "b": "second attribute",
        "c": [
            {"x": {"someInt": 5, "someString": "hello"}, "y": True},
            {"x": {"someInt": 10, "someString": "world"}, "y": False},
        ],
    },
}


def test_transform_examples() -> None:
    # Transform function example 1.
    sql = "select value transform(\"enrichArray\", attributes, values) from 'A/B'"
    assert run(sql, TRANSFORM_PAYLOAD, "A/B") == [
        {"a": 3, "data1": 1, "data2": 2},
        {"b": 4, "data1": 1, "data2": 2},
        {"c": 5, "data1": 1, "data2": 2},
    ]
    # Transform function example 2: literal objects include and rename attributes.
    sql = 'select value transform("enrichArray", {"key": attributes.data1}, values) from \'A/B\''
    assert run(sql, TRANSFORM_PAYLOAD, "A/B") == [{"a": 3, "key": 1}, {"b": 4, "key": 1}, {"c": 5, "key": 1}]


def test_transform_example_with_nested_queries() -> None:
    # Transform function example 3: nested SELECT clauses.
    sql = (
        "select value transform('enrichArray', (select a, b from data2), (select value c from data2))"
        " from 'A/B'"
    )
    attributes = {"a": "first attribute", "b": "second attribute"}
    assert run(sql, NESTED_PAYLOAD, "A/B") == [
        {"x": {"someInt": 5, "someString": "hello"}, "y": True, **attributes},
        {"x": {"someInt": 10, "someString": "world"}, "y": False, **attributes},
    ]


def test_json_extensions_md5_example() -> None:
    # The SQL reference's "Applying a function to an attribute value" (the 2016 guide and today's page).
    payload = {"deviceid": "iot123", "temp": 54.98, "humidity": 32.43}
    result = run("SELECT temp, md5(deviceid) AS hashed_id FROM 'topic/#'", payload, "topic/x")
    assert result == {"temp": 54.98, "hashed_id": "e37f81fb397e595c4aeb5645b8cbbbd1"}


# --- functions that call a service: a stand-in for the service Corral hosts ------------------------------


class Service:
    def __init__(self, answers: dict[str, Value]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, list[Value]]] = []

    def __call__(self, name: str, args: Sequence[Value]) -> Value:
        self.calls.append((name, list(args)))
        return self.answers[name]


def test_aws_lambda_examples() -> None:
    arn = "arn:aws:lambda:us-east-1:account_id:function:lambda_function"
    payload = {"attribute1": 21, "attribute2": "value"}
    service = Service({"aws_lambda": {"some": {"value": 42}}})
    sql = f'SELECT aws_lambda("{arn}", {{"payload":attribute1}}) as output FROM \'topic-filter\''
    assert run(sql, payload, "topic-filter", external=service) == {"output": {"some": {"value": 42}}}
    assert service.calls == [("aws_lambda", [arn, {"payload": 21}])]
    # "If you want to pass the full MQTT message payload, you can specify the JSON payload using '*'."
    sql = f"SELECT aws_lambda(\"{arn}\", *).some.value as output FROM 'topic-filter'"
    assert run(sql, payload, "topic-filter", external=service) == {"output": 42}
    assert service.calls[-1] == ("aws_lambda", [arn, payload])
    assert compile_statement(sql).uses_external


def test_get_dynamodb_example() -> None:
    service = Service({"get_dynamodb": {"deviceId": "d1", "location": "Seattle"}})
    sql = (
        'SELECT *, get_dynamodb("InServiceDevices", "deviceId", id, '
        "\"arn:aws:iam::12345678910:role/getdynamo\").location AS location FROM 'some/topic'"
    )
    result = run(sql, {"id": "d1"}, "some/topic", external=service)
    assert result == {"id": "d1", "location": "Seattle"}
    role = "arn:aws:iam::12345678910:role/getdynamo"
    assert service.calls == [("get_dynamodb", ["InServiceDevices", "deviceId", "d1", role])]


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (
            'get_thing_shadow("MyThing","MyThingShadow","arn:aws:iam::123456789012:role/AllowsThingShadowAccess")',
            ["MyThing", "MyThingShadow", "arn:aws:iam::123456789012:role/AllowsThingShadowAccess"],
        ),
        (
            'get_thing_shadow("MyThing","arn:aws:iam::123456789012:role/AllowsThingShadowAccess")',
            ["MyThing", "arn:aws:iam::123456789012:role/AllowsThingShadowAccess"],
        ),
    ],
)
def test_get_thing_shadow_examples(call: str, args: list[Value]) -> None:
    sql = f"SELECT * from 'topic/subtopic' WHERE {call}.state.reported.alarm = 'ON'"
    service = Service({"get_thing_shadow": {"state": {"reported": {"alarm": "ON"}}}})
    assert run(sql, {"t": 1}, "topic/subtopic", external=service) == {"t": 1}
    assert service.calls == [("get_thing_shadow", args)]
    service.answers["get_thing_shadow"] = {"state": {"reported": {"alarm": "OFF"}}}
    assert run(sql, {"t": 1}, "topic/subtopic", external=service) != {"t": 1}  # NO_MATCH


def test_get_registry_data_goes_to_the_registry() -> None:
    service = Service({"get_registry_data": {"thingName": "MyThing", "attributes": {"floor": "2"}}})
    sql = (
        'SELECT get_registry_data("DescribeThing", topic(2), "arn:aws:iam::123456789012:role/r")'
        ".attributes.floor AS floor FROM 'things/+'"
    )
    assert run(sql, {}, "things/MyThing", external=service) == {"floor": "2"}
    assert service.calls == [
        ("get_registry_data", ["DescribeThing", "MyThing", "arn:aws:iam::123456789012:role/r"])
    ]


@pytest.mark.parametrize(
    ("sql", "service"),
    [
        (
            "SELECT get_secret('API_KEY', 'SecretString', 'API_KEY_VALUE', "
            "'arn:aws:iam::12345678910:role/getsecret') AS k FROM 'a/b'",
            "Secrets Manager",
        ),
        (
            "SELECT machinelearning_predict('model', 'arn:aws:iam::1:role/r', *) AS p FROM 'a/b'",
            "Machine Learning",
        ),
    ],
)
def test_services_corral_does_not_host_are_refused(sql: str, service: str) -> None:
    with pytest.raises(UnsupportedFunction, match=service):
        compile_statement(sql)


def test_mqtt5_property_functions() -> None:
    properties = {
        "contentType": "application/json",
        "payloadFormatIndicator": 1,
        "responseTopic": "replies/a",
        "correlationData": "Y2lk",
        "userProperties": [["k", "v1"], ["k", "v2"]],
    }
    sql = (
        "SELECT get_mqtt_property('content_type') AS c, get_mqtt_property('format_indicator') AS f, "
        "get_mqtt_property('response_topic') AS r, get_mqtt_property('correlation_data') AS d, "
        "get_user_properties('k') AS k FROM 'a/b'"
    )
    assert run(sql, {}, properties=properties) == {
        "c": "application/json",
        "f": "UTF8_DATA",
        "r": "replies/a",
        "d": "Y2lk",
        "k": ["v1", "v2"],
    }


def test_get_or_default() -> None:
    sql = "SELECT get_or_default(missing, 'none') AS a, get_or_default(present, 'none') AS b FROM 'a/b'"
    assert run(sql, {"present": 1}) == {"a": "none", "b": 1}
