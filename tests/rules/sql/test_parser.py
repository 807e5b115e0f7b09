"""The grammar: what parses, and where a statement that does not parse is wrong (line and column)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.rules.sql import SqlParseError, compile_statement
from corral.rules.sql.compiler import unquote
from corral.rules.sql.parser import parse
from tests.rules.sql.conformance import run


@pytest.mark.parametrize(
    ("sql", "line", "column"),
    [
        ("SELECT FROM 'a/b'", 1, 13),  # FROM is read as a name there
        ("SELECT a FROM", 1, 14),
        ("SELECT a\nFROM 'a/b'\nWHERE a >", 3, 10),
        ("SELECT a FROM 'a/b' WHERE a = = 1", 1, 31),
        ("SELECT a FROM 'a/b' WHERE a ? 1", 1, 29),
        ("SELECT a,\n  b c FROM 'a/b'", 2, 5),
        ("SELECT 'unterminated FROM 'a/b'", 1, 28),
        ("FROM 'a/b'", 1, 1),
        ("", 1, 1),
        ("SELECT a FROM a", 1, 15),
        ('SELECT a FROM "a/b"', 1, 15),
        ("SELECT a FROM 'a/#/b'", 1, 15),
        ("SELECT a FROM 'a/b+'", 1, 15),
        ("SELECT a FROM ''", 1, 15),
        ("SELECT cast(a AS Float32) FROM 'a/b'", 1, 18),
        ("SELECT a FROM 'a/b'\n  WHERE nosuchfunction(a)", 2, 9),
    ],
)
def test_parse_errors_say_where(sql: str, line: int, column: int) -> None:
    with pytest.raises(SqlParseError) as caught:
        compile_statement(sql)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(caught.value)
    assert caught.value.message


def test_unsupported_version_is_refused() -> None:
    with pytest.raises(SqlParseError, match="Unsupported SQL version"):
        compile_statement("SELECT * FROM 'a/b'", "2020-01-01")


@pytest.mark.parametrize("version", ["2015-10-08", "2016-03-23", "beta", "2016-03-23-beta"])
def test_versions_accepted(version: str) -> None:
    statement = compile_statement("SELECT * FROM 'a/b'", version)
    assert statement.sql_version == (version if version != "2016-03-23-beta" else "2016-03-23")


def test_keywords_are_case_insensitive() -> None:
    assert run("select VALUE a from 'a/b' where A_b = 1 Or true", {"a": 1}) == 1
    assert run("SeLeCt cAsE a wHeN 1 tHeN 'x' eLsE 'y' EnD aS r FrOm 'a/b'", {"a": 1}) == {"r": "x"}


def test_keywords_are_names_where_no_keyword_fits() -> None:
    payload = {"a": {"value": 1, "from": 2, "end": 3}, "end": 4}
    assert run("SELECT a.value AS v, a.from AS f, a.end AS e FROM 'a/b' WHERE end = 4", payload) == {
        "v": 1,
        "f": 2,
        "e": 3,
    }


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'plain'", "plain"),
        ("'it''s'", "it's"),
        (r"'it\'s'", "it's"),
        (r"'a\nb\tc'", "a\nb\tc"),
        (r"'\u00e9\\'", "é\\"),
        ('"double"', "double"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'\q'", "q"),
    ],
)
def test_string_literals(literal: str, value: str) -> None:
    assert unquote(literal) == value
    assert run(f"SELECT VALUE {literal} FROM 'a/b'") == value


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_string_literal_round_trip(text: str) -> None:
    assert run(f"SELECT VALUE {_quote(text)} FROM 'a/b'") == text


@given(st.integers(min_value=0, max_value=10**30))
def test_int_literal_round_trip(number: int) -> None:
    assert run(f"SELECT VALUE {number} FROM 'a/b'") == number
    assert run(f"SELECT VALUE -{number} FROM 'a/b'") == -number


@given(st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False))
def test_decimal_literal_round_trip(number: float) -> None:
    text = repr(number)
    assert run(f"SELECT VALUE {text} FROM 'a/b'", sql_version="2015-10-08") == number


def test_parse_tree_shape() -> None:
    tree = parse("SELECT a.b[0] AS x FROM 'a/b' WHERE a IN [1, 2]")
    assert [child.data for child in tree.children] == ["select_list", "from_clause", "where_clause"]
