"""parse_time (Joda-Time patterns) and time_to_epoch (java.time patterns), called directly.

Examples from AWS's *Functions* page (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html);
the pattern letters are Joda-Time's ``DateTimeFormat`` and JDK 11's ``DateTimeFormatter``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions import FUNCTIONS
from corral.rules.sql.values import UNDEFINED, Value

CONTEXT = EvalContext(
    topic="a/b", payload=b"{}", timestamp_ms=1_481_825_251_155, account_id="123456789012", region="us-east-1"
)
MOMENT = int(datetime(2017, 6, 9, 17, 19, 46, 123000, tzinfo=UTC).timestamp() * 1000)
"""2017-06-09T17:19:46.123Z, a Friday: the page's second parse_time example's date."""


def call(name: str, *args: Value) -> Value:
    return FUNCTIONS[name].call(CONTEXT, args)


def test_parse_time_examples() -> None:
    # "the payload {"ts": "1970.01.01 AD at 21:46:40 CST"} is sent"
    pattern = "yyyy.MM.dd G 'at' HH:mm:ss z"
    assert call("parse_time", pattern, 100000000, "America/Belize") == "1970.01.01 AD at 21:46:40 CST"
    # "a payload similar to {"ts": "2017.06.09 AD at 17:19:46 UTC"}": the zone defaults to UTC.
    assert call("parse_time", pattern, MOMENT) == "2017.06.09 AD at 17:19:46 UTC"
    # The substitution-template example: key = "2017".
    assert call("parse_time", "yyyy", MOMENT, "UTC") == "2017"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2017-06-09T17:19:46.123+0000"),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "2017-06-09T17:19:46.123+00:00"),
        ("yy/M/d", "17/6/9"),
        ("MMM d, yyyy", "Jun 9, 2017"),
        ("EEEE, MMMM dd", "Friday, June 09"),
        ("EEE", "Fri"),
        ("e", "5"),  # ISO day of week, Monday = 1
        ("D", "160"),  # day of year
        ("ww xxxx", "23 2017"),  # ISO week of the week-based year
        ("h:mm a", "5:19 PM"),
        ("K k H", "5 17 17"),
        ("S SS SSSS", "1 12 1230"),  # fraction of second, to the pattern's width
        ("C", "20"),  # century
        ("'o''clock' ''", "o'clock '"),  # quoted text, '' for a quote
        ("zzzz", "Coordinated Universal Time"),
        ("ZZZ", "UTC"),
        ("yyyy.MM.dd / HH-mm", "2017.06.09 / 17-19"),  # other characters are literal
    ],
)
def test_parse_time_joda_letters(pattern: str, expected: str) -> None:
    assert call("parse_time", pattern, MOMENT, "UTC") == expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("America/Los_Angeles", "10:19 PDT -0700"),
        ("Europe/Paris", "19:19 CEST +0200"),
        ("Asia/Kolkata", "22:49 IST +0530"),
        ("+05:00", "22:19 +05:00 +0500"),  # a fixed offset
        ("-0800", "09:19 -08:00 -0800"),
    ],
)
def test_parse_time_zones(zone: str, expected: str) -> None:
    assert call("parse_time", "HH:mm z Z", MOMENT, zone) == expected


@pytest.mark.parametrize(
    "args",
    [
        ("yyyy", MOMENT, "Mars/Olympus_Mons"),  # unknown zone
        ("yyyy", MOMENT, "../../etc/passwd"),
        ("yyyy qq", MOMENT),  # a letter Joda-Time does not know
        ("'unterminated", MOMENT),
        ("yyyy", "yesterday"),
        ("yyyy", None),
        (None, MOMENT),
        ("yyyy", MOMENT, None),
        ("yyyy", 10**20),  # beyond the calendar
    ],
)
def test_parse_time_undefined(args: Sequence[Value]) -> None:
    assert call("parse_time", *args) is UNDEFINED


def test_parse_time_converts_its_timestamp() -> None:
    # timestamp is a Long: a Decimal or a numeric String is taken as its Int.
    assert call("parse_time", "SSS", MOMENT + 0.9) == "123"
    assert call("parse_time", "yyyy", str(MOMENT)) == "2017"


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("2020-04-03 09:45:18 UTC+01:00", "yyyy-MM-dd HH:mm:ss VV", 1585903518000),  # examples
        ("18 December 2015", "dd MMMM yyyy", 1450396800000),
        ("2007-12-03 10:15:30.592 America/Los_Angeles", "yyyy-MM-dd HH:mm:ss.SSS z", 1196705730592),
        ("2017-06-09T17:19:46.123Z", "yyyy-MM-dd'T'HH:mm:ss.SSSX", MOMENT),
        ("2017-06-09T19:19:46.123+02:00", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", MOMENT),
        ("20170609171946", "yyyyMMddHHmmss", MOMENT - 123),  # adjacent numeric fields
        ("Jun 9, 2017 5:19:46 PM", "MMM d, yyyy h:mm:ss a", MOMENT - 123),
        ("Fri, 09 Jun 2017 17:19:46 +0000", "EEE, dd MMM yyyy HH:mm:ss Z", MOMENT - 123),
        ("2017-06-09 10:19:46 PDT", "yyyy-MM-dd HH:mm:ss z", MOMENT - 123),  # an abbreviation
        ("17-06-09", "yy-MM-dd", 1496966400000),  # two-digit years are 20xx
        ("2017-160", "yyyy-DDD", 1496966400000),  # day of year
        ("2017-06-09 17:19", "yyyy-MM-dd HH:mm[:ss]", MOMENT - 46123),  # optional section
    ],
)
def test_time_to_epoch(text: str, pattern: str, expected: int) -> None:
    assert call("time_to_epoch", text, pattern) == expected


@pytest.mark.parametrize(
    "args",
    [
        ("2017-06-09", "dd/MM/yyyy"),  # text the pattern does not read
        ("2017-02-30", "yyyy-MM-dd"),  # no such day
        ("2017-06-09 Mars/Base", "yyyy-MM-dd VV"),  # unknown zone
        ("2017", "yyyy qq"),  # unknown letter
        (None, "yyyy"),
        ("2017", UNDEFINED),
    ],
)
def test_time_to_epoch_undefined(args: Sequence[Value]) -> None:
    assert call("time_to_epoch", *args) is UNDEFINED


def test_round_trip() -> None:
    pattern = "yyyy-MM-dd HH:mm:ss.SSS"
    text = call("parse_time", pattern, MOMENT, "UTC")
    assert call("time_to_epoch", text, pattern) == MOMENT
