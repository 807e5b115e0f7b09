"""The compiled statement: operators, Undefined and Null, SELECT shapes, versions, functions, output."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.rules.sql import (
    NO_MATCH,
    UNDEFINED,
    EvalContext,
    SqlParseError,
    UnsupportedFunction,
    Value,
    compile_statement,
    output_payload,
)
from corral.rules.sql.functions import SqlFunction
from tests.rules.sql.conformance import run, run_bytes


def _first(_ctx: EvalContext, args: Sequence[Value]) -> Value:
    return args[0]


def _topic(ctx: EvalContext, _args: Sequence[Value]) -> Value:
    return ctx.topic


def _shadow(_ctx: EvalContext, _args: Sequence[Value]) -> Value:
    return {"state": {"on": True}}


LIBRARY = {
    "first": SqlFunction("first", 1, 3, _first),
    "topic": SqlFunction("topic", 0, 1, _topic),
    "get_thing_shadow": SqlFunction("get_thing_shadow", 2, 2, _shadow, external=True),
    "machinelearning_predict": SqlFunction("machinelearning_predict", 3, 3, _first, refused="no ML"),
}


def ev(expression: str, payload: Value = None, version: str = "2016-03-23") -> Value:
    """The value of one expression (UNDEFINED when it is left out of the output)."""
    result = run(
        f"SELECT {expression} AS r FROM 'a/b'", payload if payload is not None else {}, sql_version=version
    )
    assert isinstance(result, dict)
    return result.get("r", UNDEFINED)


# --- arithmetic (Operators page) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2", 3),
        ("1 + 2.5", 3.5),
        ("'a' + 1", "a1"),
        ("1 + 'a'", "1a"),
        ("'a' + true", "atrue"),
        ("'a' + [1]", "a[1]"),
        ("'a' + null", UNDEFINED),
        ("'a' + missing", UNDEFINED),
        ("true + 1", UNDEFINED),
        ("null + 1", UNDEFINED),
        ("7 - 10", -3),
        ("'7' - 2", 5),
        ("'7.5' - 2", 5.5),
        ("'x' - 2", UNDEFINED),
        ("3 * 4", 12),
        ("'3' * 1.5", 4.5),
        ("7 / 2", 3),
        ("-7 / 2", -3),
        ("7 / 2.5", 2.8),
        ("1 / 0", UNDEFINED),
        ("1.5 / 0", UNDEFINED),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("7 % -3", 1),
        ("7.5 % 2", 1.5),
        ("7 % 0", UNDEFINED),
        ("-a", -3),
        ("-'2.5'", -2.5),
        ("-true", UNDEFINED),
        ("+a", 3),
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("10 - 2 - 3", 5),
        ("a * missing", UNDEFINED),
    ],
)
def test_arithmetic(expression: str, expected: Value) -> None:
    result = ev(expression, {"a": 3})
    assert result == expected
    assert type(result) is type(expected)


def test_whole_decimals_are_ints_from_2016() -> None:
    assert type(ev("2.5 * 2")) is int
    assert type(ev("2.5 * 2", version="2015-10-08")) is float
    assert type(ev("a", {"a": 10.0})) is int
    assert type(ev("a", {"a": 10.0}, version="2015-10-08")) is float
    assert type(ev("10.0")) is int
    assert ev("7 / 2.0") == 3  # 2.0 is the Int 2 from 2016-03-23
    assert ev("7 / 2.0", version="2015-10-08") == 3.5
    assert type(ev("cast(10 AS Decimal)")) is int
    assert type(ev("cast(10 AS Double)", version="2015-10-08")) is float


# --- comparisons ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 = 1", True),
        ("1 = 1.0", True),
        ("1 = '1'", False),
        ("'a' = 'a'", True),
        ("true = true", True),
        ("null = null", True),
        ("null <> null", False),
        ("[1, 2] = [1, 2]", True),
        ("[1, 2] = [2, 1]", False),
        ("{'a': 1, 'b': 2} = {'b': 2, 'a': 1}", True),
        ("{'a': 1} = {'a': 2}", False),
        ("missing = 1", UNDEFINED),
        ("1 <> missing", UNDEFINED),
        ("1 <> 2", True),
        ("1 != 1", False),
        ("1 <> 'a'", True),
        ("true = 1", False),
        ("2 > 1", True),
        ("'10' > 9", True),
        ("'10' > '9'", True),
        ("'b' > 'a'", UNDEFINED),
        ("1 >= 1.0", True),
        ("1 < 2.5", True),
        ("2 <= 1", False),
        ("true > 0", UNDEFINED),
        ("null < 1", UNDEFINED),
        ("missing < 1", UNDEFINED),
        ("2 IN [1, 2, 3]", True),
        ("4 IN [1, 2, 3]", False),
        ("2 IN 2", UNDEFINED),
        ("[1, 2, 3] CONTAINS 2", True),
        ("'hello' CONTAINS 'ell'", True),
        ("'hello' CONTAINS 'z'", False),
        ("5 CONTAINS 5", UNDEFINED),
    ],
)
def test_comparisons(expression: str, expected: Value) -> None:
    assert ev(expression) is expected


@given(st.integers(-1000, 1000) | st.floats(-1e6, 1e6), st.integers(-1000, 1000) | st.floats(-1e6, 1e6))
def test_comparisons_are_consistent(x: float, y: float) -> None:
    payload = {"x": x, "y": y}
    lt, eq, gt = ev("x < y", payload), ev("x = y", payload), ev("x > y", payload)
    assert [lt, eq, gt].count(True) == 1
    assert ev("x <= y", payload) is (lt or eq)
    assert ev("x >= y", payload) is (gt or eq)
    assert ev("x <> y", payload) is (not eq)
    assert ev("NOT (x < y)", payload) is (not lt)


# --- logic ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("true AND true", True),
        ("true AND false", False),
        ("'TRUE' AND 'true'", True),
        ("true AND 1", UNDEFINED),
        ("false AND 1", False),
        ("1 AND false", False),
        ("missing AND true", UNDEFINED),
        ("true OR 1", True),
        ("1 OR true", True),
        ("false OR 'false'", False),
        ("false OR missing", UNDEFINED),
        ("NOT true", False),
        ("NOT 'False'", True),
        ("NOT 1", UNDEFINED),
        ("NOT missing", UNDEFINED),
        ("NOT 1 = 2", True),
        ("true OR false AND false", True),
    ],
)
def test_logic(expression: str, expected: Value) -> None:
    assert ev(expression) is expected


def test_and_does_not_evaluate_the_right_side_when_the_left_is_false() -> None:
    calls: list[Value] = []

    def record(_ctx: EvalContext, args: Sequence[Value]) -> Value:
        calls.append(args[0])
        return True

    functions = {"record": SqlFunction("record", 1, 1, record)}
    assert run("SELECT * FROM 'a/b' WHERE false AND record(1)", functions=functions) is NO_MATCH
    assert run("SELECT * FROM 'a/b' WHERE true OR record(2)", functions=functions) == {}
    assert calls == []


@pytest.mark.parametrize(
    ("where", "matches"),
    [("true", True), ("'true'", True), ("false", False), ("1", False), ("missing", False), ("null", False)],
)
def test_where_matches_only_true(where: str, matches: bool) -> None:
    assert (run(f"SELECT * FROM 'a/b' WHERE {where}", {"a": 1}) is not NO_MATCH) is matches


# --- CASE and cast ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("CASE a WHEN 1 THEN 'one' WHEN 3 THEN 'three' END", "three"),
        ("CASE a WHEN 1 THEN 'one' END", UNDEFINED),
        ("CASE a WHEN 1 THEN 'one' ELSE 'other' END", "other"),
        ("CASE missing WHEN 1 THEN 'one' ELSE 'other' END", UNDEFINED),
        ("CASE WHEN a > 2 THEN 'big' ELSE 'small' END", "big"),
        ("CASE WHEN a > 5 THEN 'big' WHEN a > 1 THEN 'mid' END", "mid"),
        ("CASE WHEN 1 THEN 'x' ELSE 'y' END", "y"),
        ("cast(a AS String)", "3"),
        ("cast('12.7' AS Int)", 12),
        ("cast(-1.5 AS Integer)", -2),
        ("cast(true AS Int)", 1),
        ("cast(0 AS Boolean)", False),
        ("cast(2.5 AS Bool)", True),
        ("cast('TRUE' AS Boolean)", True),
        ("cast(null AS Int)", UNDEFINED),
        ("cast([1] AS String)", "[1]"),
        ("cast('x' AS Decimal)", UNDEFINED),
        ("cast(false AS Double)", 0),
        ("CAST(a AS varchar)", "3"),
    ],
)
def test_case_and_cast(expression: str, expected: Value) -> None:
    assert ev(expression, {"a": 3}) == expected


@pytest.mark.parametrize("keyword", ["Decimal", "Bool", "Boolean"])
def test_cast_types_of_2016(keyword: str) -> None:
    with pytest.raises(SqlParseError, match="Unsupported type in cast"):
        compile_statement(f"SELECT cast(1 AS {keyword}) AS x FROM 'a/b'", "2015-10-08")


# --- JSON extensions and SELECT shapes --------------------------------------------------------------------


def test_paths_and_indexes() -> None:
    payload = {"a": {"b": {"c": [10, {"d": "deep"}]}}, "arr": [1, 2], "s": "str"}
    assert ev("a.b.c[0]", payload) == 10
    assert ev("a.b.c[1].d", payload) == "deep"
    assert ev("a.b.c[2]", payload) is UNDEFINED
    assert ev("a.b.c[-1]", payload) is UNDEFINED
    assert ev("arr[0] + arr[1]", payload) == 3
    assert ev("a['b'].c[0]", payload) == 10
    assert ev("s.x", payload) is UNDEFINED
    assert ev("a.nope.deeper", payload) is UNDEFINED
    assert ev("[5, 6, 7][1]") == 6
    assert ev("{'k': {'j': 1}}.k.j") == 1


def test_select_item_keys() -> None:
    payload = {"a": {"b": 1}, "c": 2}
    assert run("SELECT a.b, c FROM 'a/b'", payload) == {"b": 1, "c": 2}
    assert run("SELECT a.b, c FROM 'a/b'", payload, sql_version="2015-10-08") == {"a": {"b": 1}, "c": 2}
    assert run("SELECT c + 1, 'x' FROM 'a/b'", payload) == {"_1": 3, "_2": "x"}
    assert run("SELECT c AS x.y, a.b AS x.z FROM 'a/b'", payload) == {"x": {"y": 2, "z": 1}}
    assert run("SELECT first(c) FROM 'a/b'", payload, functions=LIBRARY) == {"first": 2}


def test_undefined_members_are_left_out() -> None:
    assert run("SELECT a, missing, null AS n FROM 'a/b'", {"a": 1}) == {"a": 1, "n": None}
    assert run("SELECT {'x': missing, 'y': 1} AS o, [1, missing] AS l FROM 'a/b'") == {
        "o": {"y": 1},
        "l": [1],
    }
    assert run("SELECT VALUE missing FROM 'a/b'") is UNDEFINED
    assert run_bytes("SELECT VALUE missing FROM 'a/b'") == b""


def test_star_combinations() -> None:
    payload = {"a": 1, "b": 2}
    assert run("SELECT *, 3 AS c FROM 'a/b'", payload) == {"a": 1, "b": 2, "c": 3}
    assert run("SELECT 9 AS a, * FROM 'a/b'", payload) == {"a": 1, "b": 2}
    assert run("SELECT *, 9 AS a FROM 'a/b'", payload) == {"a": 9, "b": 2}
    assert run("SELECT * FROM 'a/b'", [1, 2]) == [1, 2]
    assert run("SELECT *, 1 AS x FROM 'a/b'", [1, 2]) == {"x": 1}
    assert run("SELECT * FROM 'a/b'", b"\x00\xffraw") == b"\x00\xffraw"
    assert run_bytes("SELECT * FROM 'a/b'", b"\x00\xffraw") == b"\x00\xffraw"
    assert run("SELECT * FROM 'a/b' WHERE device_type = 'thermostat'", b"\x00") is NO_MATCH
    assert run("SELECT first(*) AS p FROM 'a/b'", b"\x01", functions=LIBRARY) == {"p": b"\x01"}


def test_select_value_of_an_array_needs_2016() -> None:
    payload = {"arr": [1, 2]}
    assert run("SELECT VALUE arr FROM 'a/b'", payload) == [1, 2]
    assert run("SELECT VALUE arr FROM 'a/b'", payload, sql_version="2015-10-08") is UNDEFINED
    assert run("SELECT VALUE arr[0] FROM 'a/b'", payload, sql_version="2015-10-08") == 1


def test_nested_queries() -> None:
    payload = {"e": [{"n": "a", "v": 1}, {"n": "b", "v": 2}, 7], "x": 5}
    assert ev("(SELECT VALUE v FROM e WHERE v > 1)", payload) == [2]
    assert ev("(SELECT n, v * 10 AS t FROM e)", payload) == [{"n": "a", "t": 10}, {"n": "b", "t": 20}, {}]
    assert ev("(SELECT * FROM e WHERE n = 'b')", payload) == [{"n": "b", "v": 2}]
    assert ev("(SELECT VALUE (SELECT VALUE v FROM [{'v': n}]) FROM e WHERE n = 'a')", payload) == [["a"]]
    assert ev("(SELECT VALUE n FROM x)", payload) is UNDEFINED
    assert ev("(SELECT VALUE x FROM e)", payload) == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT [1, 2] AS a FROM 'a/b'",
        "SELECT {'a': 1} AS a FROM 'a/b'",
        "SELECT (SELECT VALUE n FROM e) AS a FROM 'a/b'",
    ],
)
def test_features_of_2016(sql: str) -> None:
    compile_statement(sql, "2016-03-23")
    with pytest.raises(SqlParseError, match="2016-03-23"):
        compile_statement(sql, "2015-10-08")


# --- functions -------------------------------------------------------------------------------------------


def test_function_resolution() -> None:
    assert run("SELECT FIRST(a, 1) AS x, Topic() AS t FROM 'a/b'", {"a": 1}, functions=LIBRARY) == {
        "x": 1,
        "t": "a/b",
    }
    with pytest.raises(SqlParseError, match="Unknown function: nope") as caught:
        compile_statement("SELECT nope(1) FROM 'a/b'", functions=LIBRARY)
    assert (caught.value.line, caught.value.column) == (1, 8)
    with pytest.raises(SqlParseError, match="takes 1 to 3 arguments; given 0"):
        compile_statement("SELECT first() FROM 'a/b'", functions=LIBRARY)
    with pytest.raises(SqlParseError, match="given 4"):
        compile_statement("SELECT first(1, 2, 3, 4) FROM 'a/b'", functions=LIBRARY)
    with pytest.raises(UnsupportedFunction, match="machinelearning_predict") as refused:
        compile_statement("SELECT machinelearning_predict(1, 2, 3) FROM 'a/b'", functions=LIBRARY)
    assert refused.value.name == "machinelearning_predict"


def test_uses_external_and_functions() -> None:
    plain = compile_statement("SELECT first(a) FROM 'a/b'", functions=LIBRARY)
    assert not plain.uses_external
    assert plain.functions == {"first"}
    shadow = compile_statement("SELECT get_thing_shadow('t', 'r').state FROM 'a/b'", functions=LIBRARY)
    assert shadow.uses_external
    assert run("SELECT get_thing_shadow('t', 'r').state.on AS on FROM 'a/b'", functions=LIBRARY) == {
        "on": True
    }


def test_payload_parsed_only_when_needed() -> None:
    assert not compile_statement("SELECT topic() AS t FROM 'a/#'", functions=LIBRARY).uses_payload
    assert compile_statement("SELECT * FROM 'a/#'").uses_payload
    assert run("SELECT topic() AS t FROM 'a/#'", b"not json", topic="a/x", functions=LIBRARY) == {"t": "a/x"}


def test_topic_filter() -> None:
    assert compile_statement("SELECT * FROM 'a/+/c/#'").topic_filter == "a/+/c/#"
    assert compile_statement("SELECT * FROM '$aws/things/+/shadow/update'").topic_filter == (
        "$aws/things/+/shadow/update"
    )


def test_constant_subexpressions_are_folded() -> None:
    statement = compile_statement("SELECT VALUE 1 + 2 * 3 FROM 'a/b' WHERE 1 < 2")
    assert not statement.uses_payload
    assert run("SELECT VALUE 1 + 2 * 3 FROM 'a/b' WHERE 1 < 2") == 7


# --- output ----------------------------------------------------------------------------------------------


def test_output_payload() -> None:
    assert output_payload({"a": 1.5, "b": "é"}) == '{"a":1.5,"b":"é"}'.encode()
    assert output_payload("red") == b'"red"'
    assert output_payload([1, 2]) == b"[1,2]"
    assert output_payload(None) == b"null"
    assert output_payload(b"\x00") == b"\x00"
    assert output_payload(UNDEFINED) == b""
    assert output_payload({"a": [1, UNDEFINED], "b": UNDEFINED}) == b'{"a":[1]}'
    assert json.loads(output_payload({"big": 10**30})) == {"big": 10**30}
    with pytest.raises(ValueError, match="did not match"):
        output_payload(NO_MATCH)
