"""The SET clause and statements without FROM (AWS IoT SQL reference: "SET clause"; "FROM … Optional for
rules that are only activated using the Basic Ingest feature")."""

from __future__ import annotations

import pytest

from corral.rules.sql import NO_MATCH, EvalContext, SqlParseError, compile_statement
from tests.rules.sql.conformance import run

DEVICE = {
    "device1": {
        "deviceId": "weather_sensor",
        "deviceData": {"sensors": {"temp_fahrenheit": 75, "humidity": 60}, "location": [47.606, -122.332]},
    }
}


def test_a_variable_holds_an_expression_for_select() -> None:
    """SET clause examples, "Basic usage of variables" (with a Decimal operand, so the result is exact)."""
    sql = (
        "SET @temp_celsius = (temp_fahrenheit - 32) * 5 / 9.0 "
        "SELECT @temp_celsius AS celsius, humidity FROM 'device/data'"
    )
    out = run(sql, {"temp_fahrenheit": 77, "humidity": 60}, "device/data")
    assert out == {"celsius": 25, "humidity": 60}


def test_a_variable_holding_an_object_is_read_with_json_extensions() -> None:
    """SET clause examples, "Accessing members in embedded JSON objects": ``@variable.property``."""
    sql = (
        "SET @device_sensor_data = device1.deviceData.sensors "
        "SELECT @device_sensor_data.temp_fahrenheit AS temp_fahrenheit, "
        "@device_sensor_data.humidity AS humidity, device1.deviceId AS deviceId FROM 'device/data'"
    )
    assert run(sql, DEVICE, "device/data") == {
        "temp_fahrenheit": 75,
        "humidity": 60,
        "deviceId": "weather_sensor",
    }


def test_variables_feed_later_assignments_where_and_nested_queries() -> None:
    """Variables are usable in other SET assignments, WHERE clauses and nested SELECT queries."""
    sql = (
        "SET @limit = 2, @twice = @limit * 2 "
        "SELECT @twice AS twice, (SELECT VALUE v FROM items WHERE v > @limit) AS big "
        "FROM 't' WHERE @limit < 3"
    )
    items = {"items": [{"v": 1}, {"v": 3}, {"v": 5}]}
    assert run(sql, items, "t") == {"twice": 4, "big": [3, 5]}
    assert run("SET @limit = 5 SELECT 1 AS one FROM 't' WHERE @limit < 3", items, "t") is NO_MATCH


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SET @a = 1, @a = 2 SELECT @a FROM 't'", "already assigned"),  # variables are immutable
        ("SELECT @missing AS x FROM 't'", "not assigned"),
        ("SET @a = @b, @b = 1 SELECT @a FROM 't'", "not assigned"),  # used before its assignment
        ("SET @" + "v" * 65 + " = 1 SELECT 1 AS x FROM 't'", "longer than 64"),
        ("SET @a == 1 SELECT @a FROM 't'", ""),
        ("SET @a = 1 SET @b = 2 SELECT @a FROM 't'", ""),  # SET only once
        ("SELECT 1 AS x FROM 't' SET @a = 1", ""),  # SET before SELECT
    ],
)
def test_set_clause_syntax_rules(sql: str, problem: str) -> None:
    """SET clause syntax rules: names up to 64 characters, each assigned once, SET once and first."""
    with pytest.raises(SqlParseError) as refused:
        compile_statement(sql)
    assert problem in refused.value.message
    assert refused.value.line >= 1 and refused.value.column >= 1


def test_set_is_still_a_name_where_no_keyword_fits() -> None:
    assert run("SELECT set, value2 FROM 't'", {"set": 1, "value2": 2}, "t") == {"set": 1, "value2": 2}


def test_a_statement_without_from_has_no_topic_filter() -> None:
    """FROM is optional for rules activated only by Basic Ingest: no topic filter, evaluated as usual."""
    statement = compile_statement("SELECT temperature FROM 'a/b'")
    assert statement.topic_filter == "a/b"
    ingest_only = compile_statement("SET @t = temperature SELECT @t AS t WHERE @t > 20")
    assert ingest_only.topic_filter is None and ingest_only.variables == ("t",)
    context = EvalContext(
        topic="$aws/rules/r/x", payload=b'{"temperature": 25}', timestamp_ms=0, account_id="1", region="r"
    )
    output, variables = ingest_only.evaluate_with_variables(context)
    assert output == {"t": 25} and variables == {"t": 25}
