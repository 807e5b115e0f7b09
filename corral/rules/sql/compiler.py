"""IoT SQL parse tree -> Python closures, built once per rule; evaluating a message walks no tree.

Each expression compiles to an ``Expr``: a closure ``fn(scope) -> Value`` and, when it depends on nothing
of the message (literals and operators on literals), its value computed at compile time. A ``Scope`` is what
names resolve against: the message's parsed payload at the top, one array item inside a nested query.

SQL versions (https://docs.aws.amazon.com/iot/latest/developerguide/iot-rule-sql-version.html and the pages
it links). 2016-03-23 and beta behave alike here; 2015-10-08 differs in:

- Array and Object literals (Literals page: "available only when using SQL version 2016-03-23 or later") and
  nested ``(SELECT … FROM …)`` queries (Nested object queries page: "2016-03-23 and later") are parse
  errors.
- ``cast(… AS Decimal | Bool | Boolean)`` exist from 2016-03-23 (Functions page, cast); 2015-10-08 has
  String, Nvarchar, Text, Ntext, Varchar, Int, Integer and Double.
- ``SELECT VALUE`` of an Array: 2016-03-23 "can also select an array to output as a top-level object"; in
  2015-10-08 it is Undefined (an empty output).
- Whole numbers: "With SQL V2 (2016-03-23), numeric values that are whole numbers, such as 10.0, are
  processed as an Int value (10)" (Data types page; also cast to Decimal). Corral applies it to numbers
  read from the payload by name, Decimal literals, arithmetic results and casts; ``*`` and whole objects
  pass through as published. 2015-10-08 keeps 10.0 a Decimal.
- "Fixes for selecting nested JSON objects": the docs do not say what 2015-10-08 did. Corral keys an
  unaliased ``SELECT a.b`` as ``{"b": …}`` from 2016-03-23 and as the nested ``{"a": {"b": …}}`` in
  2015-10-08.

Decisions where the docs are silent: an unaliased function call is keyed by the function's name as
written, any other unaliased expression by ``_1``, ``_2`` … (its position in the list); ``AS a.b`` nests the
value as ``{"a": {"b": …}}``; ``*`` beside other items adds the payload's members only when the payload is
an Object; ``* AS name`` (in the 2016 guide) is ``{"name": payload}``; names inside a nested query resolve
against the array item only; ``encode(*, …)`` is given the payload's bytes as published.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from lark import Token, Tree

from corral.rules.sql import operators as ops
from corral.rules.sql.context import EvalContext
from corral.rules.sql.errors import SqlParseError, UnsupportedFunction
from corral.rules.sql.functions import SqlFunction
from corral.rules.sql.values import (
    UNDEFINED,
    Value,
    cast_to_boolean,
    cast_to_decimal,
    cast_to_int,
    cast_to_string,
    to_boolean,
    whole_decimal_as_int,
)

V2015: Final = "2015-10-08"
V2016: Final = "2016-03-23"
BETA: Final = "beta"
SQL_VERSIONS: Final = (V2015, V2016, BETA)
_VERSION_ALIASES: Final = {"2016-03-23-beta": V2016}
MAX_VARIABLE_NAME: Final = 64


class Scope:
    """What one evaluation sees: the message, the document names resolve against, and the SET clause's
    variables (shared by the statement and its nested queries)."""

    __slots__ = ("ctx", "doc", "variables")

    def __init__(self, ctx: EvalContext, doc: Value, variables: dict[str, Value] | None = None) -> None:
        self.ctx = ctx
        self.doc = doc
        self.variables: dict[str, Value] = {} if variables is None else variables


Fn = Callable[[Scope], Value]
Node = Any
"""A lark parse-tree node (``Tree`` or ``Token``): lark's children are untyped."""


@dataclass(slots=True)
class Expr:
    fn: Fn
    const: bool = False
    value: Value = None
    path: tuple[str, ...] | None = None
    """Set for a plain attribute path (``a``, ``a.b.c``): how an unaliased item is keyed."""
    label: str | None = None
    """Set for a function call: its name as written."""
    topic: Token | None = None
    """Set for a single-quoted string literal: the token (the top-level FROM needs one)."""
    uses_payload: bool = False


def constant(value: Value) -> Expr:
    return Expr(fn=lambda _scope: value, const=True, value=value)


_JSON_STARTS: Final = frozenset(b'{["-0123456789tfn')


def parse_payload(payload: bytes) -> Value:
    """A message payload as IoT SQL sees it: its JSON value, or the bytes themselves (Binary).

    A payload whose first non-blank byte cannot start JSON is Binary without asking the parser: building
    orjson's exception costs more than evaluating a simple statement."""
    start = payload.lstrip(b" \t\r\n")[:1]
    if not start or start[0] not in _JSON_STARTS:
        return payload
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload


@dataclass(slots=True)
class Select:
    """A compiled SELECT … [WHERE …] over one scope (the statement's or a nested query's)."""

    output: Fn
    where: Fn | None
    uses_payload: bool


@dataclass(slots=True)
class Compiler:
    sql_version: str
    functions: Mapping[str, SqlFunction]
    uses_external: bool = False
    function_names: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)
    """The SET clause's variables assigned so far (a variable is used only after its assignment)."""
    set_uses_payload: bool = False

    @property
    def v2(self) -> bool:
        return self.sql_version != V2015

    # --- errors ----------------------------------------------------------------------------------------

    @staticmethod
    def error(message: str, where: Node) -> SqlParseError:
        if isinstance(where, Token):
            return SqlParseError(message, where.line or 1, where.column or 1)
        meta = where.meta
        line = getattr(meta, "line", 1) if not meta.empty else 1
        column = getattr(meta, "column", 1) if not meta.empty else 1
        return SqlParseError(message, line, column)

    def needs_v2(self, feature: str, where: Node) -> None:
        if not self.v2:
            raise self.error(f"{feature} need SQL version 2016-03-23 or later", where)

    # --- statements ------------------------------------------------------------------------------------

    def select(self, select_tree: Node, where_tree: Node | None) -> Select:
        where: Fn | None = None
        uses_payload = False
        if where_tree is not None:
            condition = self.expr(where_tree.children[-1])
            uses_payload = condition.uses_payload
            if condition.const:
                matched = to_boolean(condition.value) is True
                where = (lambda _s: True) if matched else (lambda _s: False)
            else:
                test = condition.fn
                where = lambda s: to_boolean(test(s)) is True  # noqa: E731
        if select_tree.data == "select_value":
            item = self.expr(select_tree.children[-1])
            fn = item.fn
            if not self.v2:
                inner = fn
                fn = lambda s: UNDEFINED if type(value := inner(s)) is list else value  # noqa: E731
            return Select(fn, where, uses_payload or item.uses_payload)
        output, items_use_payload = self.select_list([c for c in select_tree.children if isinstance(c, Tree)])
        return Select(output, where, uses_payload or items_use_payload)

    def select_list(self, items: list[Node]) -> tuple[Fn, bool]:
        entries: list[tuple[tuple[str, ...] | None, Fn]] = []  # None key: the `*` item
        uses_payload = False
        for position, item in enumerate(items, start=1):
            if item.data == "star_item":
                uses_payload = True
                star_alias = item.children[-1] if len(item.children) > 1 else None
                if isinstance(star_alias, Tree):  # `* AS name` (2016 guide): the payload as one member
                    entries.append((tuple(str(t) for t in star_alias.children), _doc))
                else:
                    entries.append((None, _doc))
                continue
            expr_tree = item.children[0]
            alias = item.children[-1] if len(item.children) > 1 else None
            compiled = self.expr(expr_tree)
            uses_payload = uses_payload or compiled.uses_payload
            key: tuple[str, ...]
            if isinstance(alias, Tree) and alias.data == "alias":
                key = tuple(str(t) for t in alias.children)
            elif compiled.path is not None:
                key = compiled.path if not self.v2 else compiled.path[-1:]
            elif compiled.label is not None:
                key = (compiled.label,)
            else:
                key = (f"_{position}",)
            entries.append((key, compiled.fn))
        return _build_select_list(entries), uses_payload

    # --- expressions -----------------------------------------------------------------------------------

    def expr(self, node: Node) -> Expr:
        if isinstance(node, Token):  # pragma: no cover - every expression token sits in a rule
            raise self.error(f"Unexpected {node!s}", node)
        method = getattr(self, "x_" + str(node.data), None)
        if method is None:  # pragma: no cover - the grammar and this class are kept in step
            raise self.error(f"Unsupported expression {node.data}", node)
        result: Expr = method(node)
        return result

    def x_string(self, node: Node) -> Expr:
        token: Token = node.children[0]
        result = constant(unquote(str(token)))
        if token.type == "STRING":
            result.topic = token
        return result

    def x_int(self, node: Node) -> Expr:
        return constant(int(node.children[0]))

    def x_decimal(self, node: Node) -> Expr:
        value = float(node.children[0])
        return constant(whole_decimal_as_int(value) if self.v2 else value)

    def x_true(self, _node: Node) -> Expr:
        return constant(True)

    def x_false(self, _node: Node) -> Expr:
        return constant(False)

    def x_null(self, _node: Node) -> Expr:
        return constant(None)

    def x_array(self, node: Node) -> Expr:
        self.needs_v2("Array literals", node)
        items = [self.expr(child) for child in node.children if child is not None]
        uses_payload = any(item.uses_payload for item in items)
        if all(item.const for item in items):
            return constant([item.value for item in items if item.value is not UNDEFINED])
        fns = [item.fn for item in items]

        def array(s: Scope) -> Value:
            return [v for v in (fn(s) for fn in fns) if v is not UNDEFINED]

        return Expr(array, uses_payload=uses_payload)

    def x_object(self, node: Node) -> Expr:
        self.needs_v2("Object literals", node)
        pairs: list[tuple[str, Expr]] = []
        for pair in node.children:
            if pair is None:
                continue
            key_token: Token = pair.children[0]
            key = str(key_token) if key_token.type == "NAME" else unquote(str(key_token))
            pairs.append((key, self.expr(pair.children[1])))
        uses_payload = any(value.uses_payload for _, value in pairs)
        if all(value.const for _, value in pairs):
            return constant({k: v.value for k, v in pairs if v.value is not UNDEFINED})
        members = [(k, v.fn) for k, v in pairs]

        def obj(s: Scope) -> Value:
            out: dict[str, Value] = {}
            for k, fn in members:
                v = fn(s)
                if v is not UNDEFINED:
                    out[k] = v
            return out

        return Expr(obj, uses_payload=uses_payload)

    def assignments(self, set_tree: Node) -> tuple[tuple[str, Fn], ...]:
        """``SET @a = expr, …``: each variable once, each expression seeing the variables before it."""
        compiled: list[tuple[str, Fn]] = []
        uses_payload = False
        for assignment in set_tree.children:
            if not isinstance(assignment, Tree):
                continue  # the SET keyword
            variable, operator, expression = assignment.children
            name = str(variable)[1:]
            if str(operator) != "=":
                raise self.error(f"Expected '=' after @{name}", operator)
            if len(name) > MAX_VARIABLE_NAME:
                raise self.error(
                    f"Variable name @{name} is longer than {MAX_VARIABLE_NAME} characters", variable
                )
            if name in self.variables:
                raise self.error(f"Variable @{name} is already assigned (variables are immutable)", variable)
            value = self.expr(expression)
            uses_payload = uses_payload or value.uses_payload
            self.variables.add(name)
            compiled.append((name, value.fn))
        self.set_uses_payload = uses_payload
        return tuple(compiled)

    def x_variable(self, node: Node) -> Expr:
        token = node.children[0]
        name = str(token)[1:]
        if name not in self.variables:
            raise self.error(f"Variable @{name} is not assigned in the SET clause", token)

        def variable(s: Scope) -> Value:
            return s.variables.get(name, UNDEFINED)

        return Expr(variable)

    def x_name(self, node: Node) -> Expr:
        key = str(node.children[0])
        return self._path((key,))

    def _path(self, keys: tuple[str, ...]) -> Expr:
        whole = self.v2
        if len(keys) == 1:
            (k,) = keys

            def get1(s: Scope) -> Value:
                d = s.doc
                if type(d) is dict:
                    v = d.get(k, UNDEFINED)
                    return int(v) if whole and type(v) is float and v.is_integer() else v
                return UNDEFINED

            return Expr(get1, path=keys, uses_payload=True)

        def get(s: Scope) -> Value:
            v = s.doc
            for key in keys:
                if type(v) is not dict:
                    return UNDEFINED
                v = v.get(key, UNDEFINED)
            return int(v) if whole and type(v) is float and v.is_integer() else v

        return Expr(get, path=keys, uses_payload=True)

    def x_member(self, node: Node) -> Expr:
        base = self.expr(node.children[0])
        key = str(node.children[1])
        if base.path is not None:
            return self._path((*base.path, key))
        base_fn = base.fn
        whole = self.v2

        def member(s: Scope) -> Value:
            d = base_fn(s)
            if type(d) is dict:
                v = d.get(key, UNDEFINED)
                return int(v) if whole and type(v) is float and v.is_integer() else v
            return UNDEFINED

        return self._fold(Expr(member, uses_payload=base.uses_payload), base)

    def x_index(self, node: Node) -> Expr:
        base = self.expr(node.children[0])
        index = self.expr(node.children[1])
        base_fn, index_fn = base.fn, index.fn

        def item(s: Scope) -> Value:
            d = base_fn(s)
            i = index_fn(s)
            kind = type(d)
            if kind is list:
                if type(i) is int and 0 <= i < len(d):
                    return d[i]
                return UNDEFINED
            if kind is dict and type(i) is str:
                return d.get(i, UNDEFINED)
            return UNDEFINED

        return self._fold(Expr(item, uses_payload=base.uses_payload or index.uses_payload), base, index)

    @staticmethod
    def _fold(result: Expr, *operands: Expr) -> Expr:
        """Compute a pure operation on constants now."""
        if all(operand.const for operand in operands):
            return constant(result.fn(_NO_SCOPE))
        return result

    def _binary(self, op: Callable[[Value, Value], Value], left: Expr, right: Expr, numeric: bool) -> Expr:
        lf, rf = left.fn, right.fn
        if numeric and self.v2:

            def fn(s: Scope) -> Value:
                v = op(lf(s), rf(s))
                return int(v) if type(v) is float and v.is_integer() else v

        else:

            def fn(s: Scope) -> Value:
                return op(lf(s), rf(s))

        return self._fold(Expr(fn, uses_payload=left.uses_payload or right.uses_payload), left, right)

    def x_arith(self, node: Node) -> Expr:
        left, op_token, right = node.children
        return self._binary(ops.ARITHMETIC[str(op_token)], self.expr(left), self.expr(right), True)

    def x_compare(self, node: Node) -> Expr:
        left, op_token, right = node.children
        return self._binary(ops.COMPARISONS[str(op_token)], self.expr(left), self.expr(right), False)

    def x_in_op(self, node: Node) -> Expr:
        return self._binary(ops.in_, self.expr(node.children[0]), self.expr(node.children[2]), False)

    def x_contains_op(self, node: Node) -> Expr:
        return self._binary(ops.contains, self.expr(node.children[0]), self.expr(node.children[2]), False)

    def x_sign(self, node: Node) -> Expr:
        sign, operand_tree = node.children
        operand = self.expr(operand_tree)
        if str(sign) == "+":
            return operand
        of = operand.fn
        whole = self.v2

        def negate(s: Scope) -> Value:
            v = ops.neg(of(s))
            return int(v) if whole and type(v) is float and v.is_integer() else v

        return self._fold(Expr(negate, uses_payload=operand.uses_payload), operand)

    def x_not_op(self, node: Node) -> Expr:
        operand = self.expr(node.children[-1])
        of = operand.fn
        return self._fold(Expr(lambda s: ops.not_(of(s)), uses_payload=operand.uses_payload), operand)

    def x_and_op(self, node: Node) -> Expr:
        left, right = self.expr(node.children[0]), self.expr(node.children[-1])
        lf, rf = left.fn, right.fn

        def and_(s: Scope) -> Value:
            a = ops.truth(lf(s))
            if a is False:
                return False
            b = ops.truth(rf(s))
            if b is False:
                return False
            return True if a is True and b is True else UNDEFINED

        return self._fold(Expr(and_, uses_payload=left.uses_payload or right.uses_payload), left, right)

    def x_or_op(self, node: Node) -> Expr:
        left, right = self.expr(node.children[0]), self.expr(node.children[-1])
        lf, rf = left.fn, right.fn

        def or_(s: Scope) -> Value:
            a = ops.truth(lf(s))
            if a is True:
                return True
            b = ops.truth(rf(s))
            if b is True:
                return True
            return False if a is False and b is False else UNDEFINED

        return self._fold(Expr(or_, uses_payload=left.uses_payload or right.uses_payload), left, right)

    def x_cast(self, node: Node) -> Expr:
        operand_tree, type_token = node.children[1], node.children[3]
        type_name = str(type_token).lower()
        converter = _CASTS.get(type_name)
        if converter is None or (type_name in _CASTS_2016 and not self.v2):
            raise self.error(f"Unsupported type in cast: {type_token!s}", type_token)
        operand = self.expr(operand_tree)
        of = operand.fn
        if self.v2 and type_name in ("decimal", "double", "float", "number", "num"):

            def cast(s: Scope) -> Value:
                return whole_decimal_as_int(converter(of(s)))

        else:

            def cast(s: Scope) -> Value:
                return converter(of(s))

        return self._fold(Expr(cast, uses_payload=operand.uses_payload), operand)

    def x_simple_case(self, node: Node) -> Expr:
        subject = self.expr(node.children[1])
        whens, otherwise = self._case_parts(node)
        sf = subject.fn
        pairs = [(t.fn, r.fn) for t, r in whens]
        default = otherwise.fn if otherwise is not None else None

        def case(s: Scope) -> Value:
            v = sf(s)
            if v is UNDEFINED:
                return UNDEFINED
            for test, result in pairs:
                if ops.eq(v, test(s)) is True:
                    return result(s)
            return default(s) if default is not None else UNDEFINED

        parts = [subject, *(e for pair in whens for e in pair), *([otherwise] if otherwise else [])]
        return self._fold(Expr(case, uses_payload=any(p.uses_payload for p in parts)), *parts)

    def x_searched_case(self, node: Node) -> Expr:
        whens, otherwise = self._case_parts(node)
        pairs = [(t.fn, r.fn) for t, r in whens]
        default = otherwise.fn if otherwise is not None else None

        def case(s: Scope) -> Value:
            for test, result in pairs:
                if to_boolean(test(s)) is True:
                    return result(s)
            return default(s) if default is not None else UNDEFINED

        parts = [*(e for pair in whens for e in pair), *([otherwise] if otherwise else [])]
        return self._fold(Expr(case, uses_payload=any(p.uses_payload for p in parts)), *parts)

    def _case_parts(self, node: Node) -> tuple[list[tuple[Expr, Expr]], Expr | None]:
        whens: list[tuple[Expr, Expr]] = []
        otherwise: Expr | None = None
        for child in node.children:
            if not isinstance(child, Tree):
                continue
            if child.data == "when_clause":
                whens.append((self.expr(child.children[1]), self.expr(child.children[3])))
            elif child.data == "else_clause":
                otherwise = self.expr(child.children[1])
        return whens, otherwise

    def x_call(self, node: Node) -> Expr:
        name_token: Token = node.children[0]
        arguments: Node | None = node.children[1]
        name = str(name_token)
        function = self.functions.get(name.lower())
        if function is None:
            raise self.error(f"Unknown function: {name}", name_token)
        if function.refused is not None:
            raise UnsupportedFunction(function.name, function.refused)
        since = getattr(function, "since", V2015)
        if since != V2015 and not self.v2:
            raise self.error(f"{function.name}() needs SQL version {since} or later", name_token)
        args = [self._argument(child) for child in arguments.children] if arguments is not None else []
        if function.name == "encode" and args and args[0].fn is _doc:
            # encode(*, …) encodes "the entire payload, regardless of whether it's in JSON format": its bytes.
            args[0] = Expr(_raw_payload)
        count = len(args)
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            raise self.error(f"{_arity(function)}; given {count}", name_token)
        if function.external:
            self.uses_external = True
        self.function_names.add(function.name)
        call = function.call
        fns = [a.fn for a in args]
        result: Fn
        if count == 0:
            result = lambda s: call(s.ctx, ())  # noqa: E731
        elif count == 1:
            (a0,) = fns
            result = lambda s: call(s.ctx, (a0(s),))  # noqa: E731
        elif count == 2:
            a0, a1 = fns
            result = lambda s: call(s.ctx, (a0(s), a1(s)))  # noqa: E731
        else:
            result = lambda s: call(s.ctx, tuple(fn(s) for fn in fns))  # noqa: E731
        return Expr(result, label=name, uses_payload=any(a.uses_payload for a in args))

    def _argument(self, node: Node) -> Expr:
        if isinstance(node, Token) and node.type == "STAR":
            return Expr(_doc, uses_payload=True)
        if isinstance(node, Tree) and node.data == "star_arg":
            return Expr(_doc, uses_payload=True)
        return self.expr(node)

    def x_nested_query(self, node: Node) -> Expr:
        self.needs_v2("Nested queries", node)
        select_tree, from_tree = node.children[0], node.children[1]
        where_tree = node.children[2] if len(node.children) > 2 else None
        source = self.expr(from_tree.children[-1])
        inner = self.select(select_tree, where_tree)
        source_fn, output, where = source.fn, inner.output, inner.where

        def query(s: Scope) -> Value:
            items = source_fn(s)
            if type(items) is dict:
                # An Object source is one row: the query's output for it (transform's third example
                # reads `(select a, b from data2)` over an Object as an Object, not a one-item Array).
                scope = Scope(s.ctx, items, s.variables)
                if where is not None and not where(scope):
                    return UNDEFINED
                return output(scope)
            if type(items) is not list:
                return UNDEFINED
            ctx, variables = s.ctx, s.variables
            out: list[Value] = []
            for item in items:
                scope = Scope(ctx, item, variables)
                if where is not None and not where(scope):
                    continue
                v = output(scope)
                if v is not UNDEFINED:
                    out.append(v)
            return out

        return Expr(query, uses_payload=source.uses_payload)


def _arity(function: SqlFunction) -> str:
    if function.max_args is None:
        return f"{function.name}() takes at least {function.min_args} argument(s)"
    if function.max_args == function.min_args:
        return f"{function.name}() takes {function.min_args} argument(s)"
    return f"{function.name}() takes {function.min_args} to {function.max_args} arguments"


_NO_SCOPE: Final = Scope(
    EvalContext(topic="", payload=b"", timestamp_ms=0, account_id="", region=""), UNDEFINED
)


def _doc(s: Scope) -> Value:
    return s.doc


def _raw_payload(s: Scope) -> Value:
    return s.ctx.payload


_CASTS: Final[dict[str, Callable[[Value], Value]]] = {
    "string": cast_to_string,
    "nvarchar": cast_to_string,
    "text": cast_to_string,
    "ntext": cast_to_string,
    "varchar": cast_to_string,
    "int": cast_to_int,
    "integer": cast_to_int,
    "double": cast_to_decimal,
    "decimal": cast_to_decimal,
    "bool": cast_to_boolean,
    "boolean": cast_to_boolean,
}
_CASTS_2016: Final = frozenset({"decimal", "bool", "boolean"})


def _build_select_list(entries: Sequence[tuple[tuple[str, ...] | None, Fn]]) -> Fn:
    """The closure that builds a SELECT list's Object, specialised for the common shapes."""
    if all(key is not None and len(key) == 1 for key in entries_keys(entries)):
        flat = [(key[0], fn) for key, fn in entries if key is not None]
        if len(flat) == 1:
            ((k0, f0),) = flat

            def one(s: Scope) -> Value:
                v = f0(s)
                return {} if v is UNDEFINED else {k0: v}

            return one

        def flat_list(s: Scope) -> Value:
            out: dict[str, Value] = {}
            for k, fn in flat:
                v = fn(s)
                if v is not UNDEFINED:
                    out[k] = v
            return out

        return flat_list

    if len(entries) == 1 and entries[0][0] is None:
        return _doc  # SELECT *: the payload as it is (an Object, any JSON value, or Binary)

    def general(s: Scope) -> Value:
        out: dict[str, Value] = {}
        for key, fn in entries:
            v = fn(s)
            if key is None:
                if type(v) is dict:
                    out.update(v)
                continue
            if v is UNDEFINED:
                continue
            target = out
            for part in key[:-1]:
                nested = target.get(part)
                if type(nested) is not dict:
                    nested = {}
                    target[part] = nested
                target = nested
            target[key[-1]] = v
        return out

    return general


def entries_keys(entries: Sequence[tuple[tuple[str, ...] | None, Fn]]) -> list[tuple[str, ...] | None]:
    return [key for key, _ in entries]


_ESCAPES: Final = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "/": "/",
    "\\": "\\",
    "'": "'",
    '"': '"',
}


def unquote(text: str) -> str:
    """A string literal's value: quotes removed, ``''`` in single quotes is ``'``, and backslash escapes
    (``\\n \\t \\r \\b \\f \\/ \\\\ \\' \\" \\uXXXX``; any other escaped character stands for itself)."""
    quote, body = text[0], text[1:-1]
    if quote == "'":
        body = body.replace("''", "'") if "\\" not in body else body
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        char = body[i]
        if char == "'" and quote == "'" and i + 1 < n and body[i + 1] == "'":
            out.append("'")
            i += 2
            continue
        if char != "\\" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        code = body[i + 1]
        if code == "u" and i + 6 <= n:
            try:
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            except ValueError:
                pass
        out.append(_ESCAPES.get(code, code))
        i += 2
    return "".join(out)
