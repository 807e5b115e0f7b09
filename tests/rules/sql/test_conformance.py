"""Every example of AWS's IoT SQL reference pages, as (page, statement, payload, topic, expected output).

Pages (https://docs.aws.amazon.com/iot/latest/developerguide/…): iot-sql-reference.html, iot-sql-select.html,
iot-sql-from.html, iot-sql-where.html, iot-sql-data-types.html, iot-sql-literals.html, iot-sql-case.html,
iot-sql-json.html, iot-sql-nested-queries.html, binary-payloads.html, iot-rule-sql-version.html,
iot-sql-functions.html (cast only: cast is syntax), and the 2016 developer guide's rules chapter
("AWS IoT Developer Guide", 2016, "Rules", "SQL Reference"). A few rows call a library function (get,
upper, md5, encode, timestamp) because the page's example does; the function pages' own examples are in
tests/rules/sql/test_conformance_functions*.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from corral.broker.topics import filter_matches
from corral.rules.sql import NO_MATCH, SqlParseError, Value, compile_statement
from tests.rules.sql.conformance import run, run_bytes

DG = "https://docs.aws.amazon.com/iot/latest/developerguide/"
GUIDE_2016 = "AWS IoT Developer Guide (2016), Rules, SQL Reference"

COLOR = {"color": "red", "temperature": 50}
SENML = {
    "e": [
        {"n": "temperature", "u": "Cel", "t": 1234, "v": 22.5},
        {"n": "light", "u": "lm", "t": 1235, "v": 135},
        {"n": "acidity", "u": "pH", "t": 1235, "v": 7},
    ]
}
DEVICE = {
    "deviceid": "iot123",
    "temp": 54.98,
    "humidity": 32.43,
    "coords": {"latitude": 47.615694, "longitude": -122.3359976},
}
BINARY = b"\x08\x96\x01\xff\x00binary"


@dataclass(frozen=True)
class Row:
    page: str
    sql: str
    payload: Any
    expected: Value
    topic: str = "topic/subtopic"
    ctx: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page.removeprefix(DG)}: {self.sql}"


ROWS = [
    # iot-sql-reference.html
    Row(
        DG + "iot-sql-reference.html",
        "SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50",
        {"color": "red", "temperature": 100},
        {"rgb": "red"},
    ),
    # iot-sql-select.html
    Row(DG + "iot-sql-select.html", "SELECT * FROM 'topic/subtopic'", COLOR, COLOR),
    Row(DG + "iot-sql-select.html", "SELECT color FROM 'topic/subtopic'", COLOR, {"color": "red"}),
    Row(
        DG + "iot-sql-select.html",
        "SELECT color AS my_color FROM 'topic/subtopic'",
        COLOR,
        {"my_color": "red"},
    ),
    Row(
        DG + "iot-sql-select.html",
        "SELECT color as my_color, temperature as fahrenheit FROM 'topic/subtopic'",
        COLOR,
        {"my_color": "red", "fahrenheit": 50},
    ),
    Row(
        DG + "iot-sql-select.html",
        "SELECT *, 15 as speed FROM 'topic/subtopic'",
        COLOR,
        {"color": "red", "temperature": 50, "speed": 15},
    ),
    Row(DG + "iot-sql-select.html", "SELECT VALUE color FROM 'topic/subtopic'", COLOR, "red"),
    Row(
        DG + "iot-sql-select.html",
        "SELECT color.red as red_value FROM 'topic/subtopic'",
        {"color": {"red": 255, "green": 0, "blue": 0}, "temperature": 50},
        {"red_value": 255},
    ),
    # The page writes the minus as an en dash (U+2013) in "temperature - 32"; the statement uses "-".
    Row(
        DG + "iot-sql-select.html",
        "SELECT (temperature - 32) * 5 / 9 AS celsius, upper(color) as my_color FROM 'topic/subtopic'",
        COLOR,
        {"celsius": 10, "my_color": "RED"},
    ),
    # iot-sql-from.html: the rule's output for the messages its filter matches.
    Row(
        DG + "iot-sql-from.html", "SELECT temperature AS t FROM 'a/b'", {"temperature": 50}, {"t": 50}, "a/b"
    ),
    Row(
        DG + "iot-sql-from.html", "SELECT temperature AS t FROM 'a/#'", {"temperature": 50}, {"t": 50}, "a/b"
    ),
    Row(
        DG + "iot-sql-from.html", "SELECT temperature AS t FROM 'a/#'", {"temperature": 60}, {"t": 60}, "a/c"
    ),
    Row(
        DG + "iot-sql-from.html",
        "SELECT temperature AS t FROM 'a/#'",
        {"temperature": 70},
        {"t": 70},
        "a/e/f",
    ),
    Row(
        DG + "iot-sql-from.html", "SELECT temperature AS t FROM 'a/+'", {"temperature": 50}, {"t": 50}, "a/b"
    ),
    Row(
        DG + "iot-sql-from.html", "SELECT temperature AS t FROM 'a/+'", {"temperature": 60}, {"t": 60}, "a/c"
    ),
    # iot-sql-where.html
    Row(
        DG + "iot-sql-where.html",
        "SELECT color AS my_color FROM 'topic/subtopic' WHERE temperature > 50 AND color <> 'red'",
        {"color": "red", "temperature": 40},
        NO_MATCH,
    ),
    # iot-sql-data-types.html
    Row(DG + "iot-sql-data-types.html", "SELECT NULL AS n FROM 'topic/subtopic'", {}, {"n": None}),
    Row(
        DG + "iot-sql-data-types.html", "SELECT foo, bar FROM 'topic/subtopic'", {"foo": None}, {"foo": None}
    ),
    # iot-sql-literals.html (the page's payload says 47.696, its output 47.606: ours follows the payload)
    Row(
        DG + "iot-sql-literals.html",
        "SELECT {'latitude': get(lat_long, 0),'longitude':get(lat_long, 1)} as lat_long "
        "FROM 'topic/subtopic'",
        {"lat_long": [47.606, -122.332]},
        {"lat_long": {"latitude": 47.606, "longitude": -122.332}},
    ),
    Row(
        DG + "iot-sql-literals.html",
        "SELECT [lat,long] as lat_long FROM 'topic/subtopic'",
        {"lat": 47.696, "long": -122.332},
        {"lat_long": [47.696, -122.332]},
    ),
    # iot-sql-case.html
    Row(
        DG + "iot-sql-case.html",
        "SELECT CASE color WHEN 'green' THEN 'go' WHEN 'yellow' THEN 'caution' WHEN 'red' THEN 'stop' "
        "ELSE 'you are not at a stop light' END as instructions FROM 'a/b'",
        {"color": "yellow"},
        {"instructions": "caution"},
        "a/b",
    ),
    # iot-sql-json.html (output key of "AS bar.baz": Corral nests it; the page does not show the output)
    Row(
        DG + "iot-sql-json.html",
        "SELECT foo.bar AS bar.baz FROM 'topic/subtopic'",
        {"foo": {"bar": "RED", "bar1": "GREEN", "bar2": "BLUE"}},
        {"bar": {"baz": "RED"}},
    ),
    Row(
        DG + "iot-sql-json.html",
        'SELECT * from \'iot/rules\' WHERE get(get(get(mydata,"item2"),"0"),"my-key") = "myValue"',
        {"mydata": {"item2": {"0": {"my-key": "myValue"}}}},
        {"mydata": {"item2": {"0": {"my-key": "myValue"}}}},
        "iot/rules",
    ),
    Row(
        DG + "iot-sql-json.html",
        "SELECT temp, md5(deviceid) AS hashed_id FROM 'topic/#'",
        DEVICE,
        {"temp": 54.98, "hashed_id": "e37f81fb397e595c4aeb5645b8cbbbd1"},
        "topic/x",
    ),
    Row(DG + "iot-sql-json.html", "SELECT * FROM 'topic/subtopic'", BINARY, BINARY),
    # iot-sql-nested-queries.html
    Row(
        DG + "iot-sql-nested-queries.html",
        "SELECT (SELECT VALUE n FROM e) as sensors FROM 'my/topic'",
        SENML,
        {"sensors": ["temperature", "light", "acidity"]},
        "my/topic",
    ),
    Row(
        DG + "iot-sql-nested-queries.html",
        "SELECT (SELECT v FROM e WHERE n = 'temperature') as temperature FROM 'my/topic'",
        SENML,
        {"temperature": [{"v": 22.5}]},
        "my/topic",
    ),
    Row(
        DG + "iot-sql-nested-queries.html",
        "SELECT get((SELECT v FROM e WHERE n = 'temperature'), 0).v as temperature FROM 'topic'",
        SENML,
        {"temperature": 22.5},
        "topic",
    ),
    # iot-rule-sql-version.html
    Row(
        DG + "iot-rule-sql-version.html",
        "SELECT VALUE arr FROM 'topic'",
        {"a": {"b": "c"}, "arr": [1, 2, 3, 4]},
        [1, 2, 3, 4],
        "topic",
    ),
    # binary-payloads.html (and the SELECT page's "Working with binary payloads")
    Row(DG + "binary-payloads.html", "SELECT * FROM 'a/b'", BINARY, BINARY, "a/b"),
    Row(
        DG + "binary-payloads.html",
        "SELECT encode(*, 'base64') AS data, timestamp() AS ts FROM 'a/b'",
        BINARY,
        {"data": "CJYB/wBiaW5hcnk=", "ts": 1_481_825_251_155},
        "a/b",
    ),
    Row(
        DG + "binary-payloads.html",
        "SELECT encode(*, 'base64') AS data FROM 'my_topic'",
        BINARY,
        {"data": "CJYB/wBiaW5hcnk="},
        "my_topic",
    ),
    Row(
        DG + "binary-payloads.html",
        "SELECT * FROM 'a/b' WHERE device_type = 'thermostat'",
        BINARY,
        NO_MATCH,
        "a/b",
    ),
    Row(
        DG + "binary-payloads.html",
        "SELECT * FROM 'a/b' WHERE timestamp() % 12 = 0",
        BINARY,
        BINARY,
        "a/b",
        {"timestamp_ms": 1_481_825_251_152},
    ),
    Row(
        DG + "binary-payloads.html",
        "SELECT * FROM 'a/b' WHERE timestamp() % 12 = 0",
        BINARY,
        NO_MATCH,
        "a/b",
        {"timestamp_ms": 1_481_825_251_155},
    ),
    # iot-sql-functions.html, cast()
    Row(
        DG + "iot-sql-functions.html#iot-sql-function-cast",
        "SELECT VALUE cast(true as Int) FROM 'a/b'",
        {},
        1,
        "a/b",
    ),
    # The 2016 developer guide
    Row(GUIDE_2016, "SELECT * FROM 'iot/thing/#' WHERE temp > 50", DEVICE, DEVICE, "iot/thing/1"),
    Row(
        GUIDE_2016,
        "SELECT state.temperature FROM 'mydevices/device1'",
        {"state": {"temperature": 21}},
        {"temperature": 21},
        "mydevices/device1",
    ),
    Row(
        GUIDE_2016, "SELECT * FROM mqtt('com.example/sensors/+')", {"a": 1}, {"a": 1}, "com.example/sensors/1"
    ),
    Row(GUIDE_2016, "SELECT * AS message FROM 'some/topic'", {"a": 1}, {"message": {"a": 1}}, "some/topic"),
    Row(
        GUIDE_2016,
        "SELECT * FROM 'a/b' WHERE color = 'red' AND (siren = 'on' OR isTest)",
        {"color": "red", "siren": "off", "isTest": True},
        {"color": "red", "siren": "off", "isTest": True},
        "a/b",
    ),
    Row(
        GUIDE_2016,
        "SELECT CASE location WHEN 'home' THEN 'off' WHEN 'work' THEN 'on' ELSE 'silent' END AS mode "
        "FROM 'a/b'",
        {"location": "work"},
        {"mode": "on"},
        "a/b",
    ),
    Row(
        GUIDE_2016,
        "SELECT 4 + 5 AS a, 5 - 4 AS b, 20 / 4 AS c, 5 * 4 AS d, 20 % 6 AS e FROM 'a/b'",
        {},
        {"a": 9, "b": 1, "c": 5, "d": 20, "e": 2},
        "a/b",
    ),
    Row(
        GUIDE_2016,
        "SELECT 5 < 6 AS a, 5 <= 6 AS b, 6 > 5 AS c, 6 >= 5 AS d FROM 'a/b'",
        {},
        {"a": True, "b": True, "c": True, "d": True},
        "a/b",
    ),
    Row(
        GUIDE_2016,
        "SELECT VALUE state.desired.color FROM 'a/b'",
        {"state": {"desired": {"color": "blue"}}},
        "blue",
        "a/b",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_reference_example(row: Row) -> None:
    statement = compile_statement(row.sql)
    assert statement.topic_filter is not None and filter_matches(statement.topic_filter, row.topic)
    assert run(row.sql, row.payload, row.topic, **row.ctx) == row.expected


@pytest.mark.parametrize(
    ("topic_filter", "topic", "triggered"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/c", False),
        ("a/#", "a/b", True),
        ("a/#", "a/c", True),
        ("a/#", "a/e/f", True),
        ("a/#", "b/x", False),
        ("a/+", "a/b", True),
        ("a/+", "a/c", True),
        ("a/+", "a/e/f", False),
        ("a/+", "b/x", False),
    ],
)
def test_from_clause_filters(topic_filter: str, topic: str, triggered: bool) -> None:
    """iot-sql-from.html: which topics trigger "SELECT temperature AS t FROM '<filter>'"."""
    statement = compile_statement(f"SELECT temperature AS t FROM '{topic_filter}'")
    assert statement.topic_filter == topic_filter
    assert filter_matches(statement.topic_filter, topic) is triggered


def test_undefined_alone_serializes_empty() -> None:
    """iot-sql-data-types.html: Undefined "is converted to an empty string when serialized by itself"."""
    assert run_bytes("SELECT VALUE bar FROM 'a/b'", {"foo": None}) == b""


def test_binary_output_is_the_raw_payload() -> None:
    """iot-sql-json.html: "If the message payload is not in JSON format, * returns the entire message payload
    as raw bytes"."""
    assert run_bytes("SELECT * FROM 'a/b'", BINARY) == BINARY


def test_dotted_path_with_hyphen_or_digit_is_not_a_path() -> None:
    """iot-sql-json.html: "mydata.item2.0.my-key" does not work (get() is needed); the page's topic is not
    quoted either."""
    with pytest.raises(SqlParseError):
        compile_statement('SELECT * from iot/rules WHERE mydata.item2.0.my-key= "myValue"')
    with pytest.raises(SqlParseError):
        compile_statement("SELECT * from 'iot/rules' WHERE mydata.item2.0.my-key= \"myValue\"")


def test_literals_need_2016() -> None:
    """iot-sql-literals.html: "Literals are available only when using SQL version 2016-03-23 or later"."""
    with pytest.raises(SqlParseError):
        compile_statement("SELECT [lat,long] as lat_long FROM 'topic/subtopic'", "2015-10-08")


def test_nested_queries_need_2016() -> None:
    """iot-sql-nested-queries.html: "Supported by SQL version 2016-03-23 and later"."""
    with pytest.raises(SqlParseError):
        compile_statement("SELECT (SELECT VALUE n FROM e) as sensors FROM 'my/topic'", "2015-10-08")


def test_array_as_top_level_output_needs_2016() -> None:
    """iot-rule-sql-version.html: 2016-03-23 adds "Support to output an array as a top-level object"."""
    payload = {"a": {"b": "c"}, "arr": [1, 2, 3, 4]}
    assert run("SELECT VALUE arr FROM 'topic'", payload, "topic", sql_version="2016-03-23") == [1, 2, 3, 4]
    assert run_bytes("SELECT VALUE arr FROM 'topic'", payload, "topic", sql_version="2015-10-08") == b""


def test_whole_numbers_are_ints_in_v2() -> None:
    """iot-sql-data-types.html: "With SQL V2 (2016-03-23), numeric values that are whole numbers, such as
    10.0, are processed as an Int value (10)"; V1 keeps the Decimal."""
    assert run_bytes("SELECT VALUE n FROM 'a/b'", b'{"n": 10.0}') == b"10"
    assert run_bytes("SELECT VALUE n FROM 'a/b'", b'{"n": 10.0}', sql_version="2015-10-08") == b"10.0"
