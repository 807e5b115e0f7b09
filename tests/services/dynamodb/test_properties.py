"""Properties of the key encoding and of the expression parser, with Hypothesis."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from corral.services.dynamodb.expressions import (
    And,
    Between,
    Call,
    Compare,
    Compiler,
    Condition,
    In,
    Literal,
    Not,
    Operand,
    Or,
    Path,
)
from corral.services.dynamodb.keys import PREFIX_END, encode_key
from corral.services.dynamodb.values import canonical_number

numbers = st.decimals(
    allow_nan=False, allow_infinity=False, min_value=Decimal("-1e30"), max_value=Decimal("1e30"), places=8
).map(lambda d: Decimal(canonical_number(str(d))))


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


@given(numbers, numbers)
def test_number_keys_sort_numerically(a: Decimal, b: Decimal) -> None:
    ea, eb = encode_key({"N": str(a)}), encode_key({"N": str(b)})
    assert sign((ea > eb) - (ea < eb)) == sign((a > b) - (a < b))


@given(st.text(min_size=1), st.text(min_size=1))
def test_string_keys_sort_by_utf8_bytes_and_prefixes_are_ranges(a: str, b: str) -> None:
    ea, eb = encode_key({"S": a}), encode_key({"S": b})
    ba, bb = a.encode(), b.encode()
    assert (ea < eb) == (ba < bb) and (ea == eb) == (ba == bb)
    assert b.encode().startswith(ba) == (ea <= eb < ea + PREFIX_END)


# -- the parser: print a random AST, parse it back -------------------------------------------------------

NAMES = ["a", "b", "size", "Status", "x_1"]
VALUES = {f":v{i}": {"N": str(i)} for i in range(4)}


def paths() -> st.SearchStrategy[Path]:
    element = st.one_of(st.sampled_from(NAMES), st.integers(0, 3))
    return st.tuples(st.sampled_from(NAMES), st.lists(element, max_size=2)).map(
        lambda parts: Path((parts[0], *parts[1]))
    )


literals = st.sampled_from(sorted(VALUES)).map(lambda name: Literal(VALUES[name], name))
operands: st.SearchStrategy[Operand] = st.one_of(paths(), literals, paths().map(lambda p: Call("size", (p,))))
leaves: st.SearchStrategy[Condition] = st.one_of(
    st.builds(Compare, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), operands, operands),
    st.builds(Between, operands, operands, operands),
    st.builds(In, operands, st.lists(operands, min_size=1, max_size=3).map(tuple)),
    paths().map(lambda p: Call("attribute_exists", (p,))),
    st.tuples(paths(), literals).map(lambda pair: Call("begins_with", pair)),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)),
    max_leaves=8,
)


def show_path(path: Path, names: dict[str, str]) -> str:
    out = ""
    for element in path.elements:
        if isinstance(element, int):
            out += f"[{element}]"
        else:
            placeholder = f"#n{len(names)}"
            names[placeholder] = element
            out += ("." if out else "") + placeholder
    return out


def show(node: Condition | Operand, names: dict[str, str]) -> str:
    if isinstance(node, Path):
        return show_path(node, names)
    if isinstance(node, Literal):
        return node.placeholder
    if isinstance(node, Call):
        return f"{node.name}({', '.join(show(arg, names) for arg in node.args)})"
    if isinstance(node, Compare):
        return f"{show(node.left, names)} {node.op} {show(node.right, names)}"
    if isinstance(node, Between):
        return f"{show(node.operand, names)} BETWEEN {show(node.low, names)} and {show(node.high, names)}"
    if isinstance(node, In):
        return f"{show(node.operand, names)} IN ({', '.join(show(o, names) for o in node.options)})"
    if isinstance(node, And):
        return f"({show(node.left, names)}) AND ({show(node.right, names)})"
    if isinstance(node, Or):
        return f"({show(node.left, names)}) or ({show(node.right, names)})"
    assert isinstance(node, Not)
    return f"NOT ({show(node.condition, names)})"


@given(conditions)
def test_printed_conditions_parse_back(condition: Condition) -> None:
    names: dict[str, str] = {}
    text = show(condition, names)
    compiler = Compiler(names or None, dict(VALUES))
    assert compiler.condition(text) == condition


@given(conditions, conditions)
def test_precedence_not_and_or(left: Condition, right: Condition) -> None:
    names: dict[str, str] = {}
    a, b = show(left, names), show(right, names)
    parsed = Compiler(names or None, dict(VALUES)).condition(f"NOT ({a}) OR ({b}) AND ({a})")
    assert parsed == Or(Not(left), And(right, left))
