from __future__ import annotations

import pytest

from corral.rules.sql.context import EvalContext
from corral.rules.sql.values import UNDEFINED
from corral.rules.templates import TemplateCompiler, TemplateError, split_template, value_text
from tests.rules.fakes import FakeEngine


def ctx(topic: str = "$aws/things/lamp/shadow/update/delta", payload: bytes = b'{"a": 1}') -> EvalContext:
    return EvalContext(topic=topic, payload=payload, timestamp_ms=0, account_id="123456789012", region="r")


def test_split_literal_and_escapes() -> None:
    assert split_template("plain/topic") == ["plain/topic"]
    assert split_template("$$aws/things/x/shadow/update") == ["$aws/things/x/shadow/update"]
    assert split_template("a$b$") == ["a$b$"]
    assert split_template("$$$${x}") == ["$${x}"]
    assert split_template("$$${x}") == ["$", ("x",)]


def test_split_expressions() -> None:
    assert split_template("${topic(3)}/delta") == [("topic(3)",), "/delta"]
    assert split_template("$$aws/things/${topic(3)}/shadow/update") == [
        "$aws/things/",
        ("topic(3)",),
        "/shadow/update",
    ]
    # Braces inside quotes and nested braces do not end the expression.
    assert split_template("${get({'a': 1}, 'a')}-${concat('}', x)}") == [
        ("get({'a': 1}, 'a')",),
        "-",
        ("concat('}', x)",),
    ]


@pytest.mark.parametrize("bad", ["${", "${topic(3)", "x/${ }", "${}"])
def test_split_refuses(bad: str) -> None:
    with pytest.raises(TemplateError):
        split_template(bad)


def test_compile_once_render_per_message() -> None:
    engine = FakeEngine()
    compile = TemplateCompiler(engine, "2016-03-23")
    template = compile("$$aws/things/${topic(3)}/shadow/update")
    assert engine.compiled == ["SELECT VALUE topic(3) FROM '#'"]
    assert not template.is_constant and not template.uses_external
    assert template.render(ctx()) == "$aws/things/lamp/shadow/update"
    assert template.render(ctx("$aws/things/fan/shadow/update/delta")) == "$aws/things/fan/shadow/update"
    assert engine.compiled == ["SELECT VALUE topic(3) FROM '#'"]


def test_constant_template_costs_no_statement() -> None:
    engine = FakeEngine()
    template = TemplateCompiler(engine, "2016-03-23")("out/$$literal")
    assert template.is_constant and template.render(ctx()) == "out/$literal"
    assert engine.compiled == []


def test_values_as_text() -> None:
    compile = TemplateCompiler(FakeEngine(), "2016-03-23")
    assert compile("v=${a}").render(ctx(payload=b'{"a": {"b": [1, 2]}}')) == 'v={"b":[1,2]}'
    assert compile("v=${a}").render(ctx(payload=b'{"a": "text"}')) == "v=text"
    assert compile("v=${a}").render(ctx(payload=b'{"a": true}')) == "v=true"
    assert compile("v=${missing}").render(ctx()) == "v="
    assert value_text(UNDEFINED) == "" and value_text(None) == "" and value_text(7) == "7"


def test_invalid_expression_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match=r"\$\{bad expr\}"):
        TemplateCompiler(FakeEngine(), "2016-03-23")("x/${bad expr}")


def test_external_templates_say_so() -> None:
    template = TemplateCompiler(FakeEngine(), "2016-03-23")("${external(get_thing_shadow)}")
    assert template.uses_external
