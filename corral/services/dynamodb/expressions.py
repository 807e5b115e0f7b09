"""DynamoDB's expression language, parsed once per expression text and resolved once per request.

The grammar (Amazon DynamoDB Developer Guide, "Expressions") is lark LALR: condition, filter and key condition
expressions share ``condition``; update and projection expressions have their own start rules. Precedence,
lowest first: OR, AND, NOT, then comparisons, BETWEEN, IN and functions. Keywords are case-insensitive;
function names are plain names checked after parsing, so an attribute may be called ``size``.

:class:`Compiler` turns the parsed text into the AST below with every ``#name`` and ``:value`` placeholder
substituted from the request's ExpressionAttributeNames/Values, remembering which were used so that the
request can be refused, as DynamoDB refuses it, when one is missing or left unused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, TypeAlias

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from corral.services.dynamodb.errors import ValidationException
from corral.services.dynamodb.values import TYPES, AttributeValue

GRAMMAR: Final = r"""
?condition: disjunction
?disjunction: conjunction | disjunction _OR conjunction -> or_
?conjunction: negation | conjunction _AND negation -> and_
?negation: predicate | _NOT negation -> not_
?predicate: operand COMPARATOR operand -> compare
    | operand _BETWEEN operand _AND operand -> between
    | operand _IN "(" operand ("," operand)* ")" -> in_
    | function
    | "(" condition ")"
?operand: path | VALUE | function
function: NAME "(" [operand ("," operand)*] ")"
path: _element ("." _element | "[" INDEX "]")*
_element: NAME | PLACEHOLDER

update: clause+
?clause: _SET set_action ("," set_action)* -> set_clause
    | _REMOVE path ("," path)* -> remove_clause
    | _ADD path VALUE ("," path VALUE)* -> add_clause
    | _DELETE path VALUE ("," path VALUE)* -> delete_clause
set_action: path COMPARATOR set_value
?set_value: operand | operand "+" operand -> plus | operand "-" operand -> minus

projection: path ("," path)*

COMPARATOR: "=" | "<>" | "<=" | ">=" | "<" | ">"
_AND: "AND"i
_OR: "OR"i
_NOT: "NOT"i
_BETWEEN: "BETWEEN"i
_IN: "IN"i
_SET: "SET"i
_REMOVE: "REMOVE"i
_ADD: "ADD"i
_DELETE: "DELETE"i
NAME: /[A-Za-z][A-Za-z0-9_]*/
PLACEHOLDER: /#[A-Za-z0-9_]+/
VALUE: /:[A-Za-z0-9_]+/
INDEX: /[0-9]+/

%import common.WS
%ignore WS
"""

_PARSER: Final = Lark(GRAMMAR, start=["condition", "update", "projection"], parser="lalr")

# -- the AST ---------------------------------------------------------------------------------------------

PathElement: TypeAlias = str | int


@dataclass(frozen=True, slots=True)
class Path:
    """A document path: attribute names and list indexes (``a.b[2]`` is ``("a", "b", 2)``)."""

    elements: tuple[PathElement, ...]

    def __str__(self) -> str:
        out = ""
        for element in self.elements:
            out += f"[{element}]" if isinstance(element, int) else (f".{element}" if out else element)
        return out


@dataclass(frozen=True, slots=True)
class Literal:
    value: AttributeValue
    placeholder: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function: ``size``, ``if_not_exists``, ``list_append`` as operands; the condition functions
    ``attribute_exists``, ``attribute_not_exists``, ``attribute_type``, ``begins_with``, ``contains``."""

    name: str
    args: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Arithmetic:
    left: Operand
    right: Operand
    subtract: bool


Operand: TypeAlias = Path | Literal | Call | Arithmetic


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Between:
    operand: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True, slots=True)
class In:
    operand: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: Condition
    right: Condition


@dataclass(frozen=True, slots=True)
class Or:
    left: Condition
    right: Condition


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


Condition: TypeAlias = Compare | Between | In | And | Or | Not | Call


@dataclass(slots=True)
class Update:
    """An update expression's actions by clause, each in the order written."""

    set: list[tuple[Path, Operand]] = field(default_factory=list)
    remove: list[Path] = field(default_factory=list)
    add: list[tuple[Path, Literal]] = field(default_factory=list)
    delete: list[tuple[Path, Literal]] = field(default_factory=list)

    def paths(self) -> list[Path]:
        return [p for p, _ in self.set] + self.remove + [p for p, _ in self.add] + [p for p, _ in self.delete]


CONDITION_FUNCTIONS: Final = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
}
OPERAND_FUNCTIONS: Final = {"size": 1}
UPDATE_FUNCTIONS: Final = {"if_not_exists": 2, "list_append": 2}
ErrorFactory: TypeAlias = Callable[[str], ValidationException]
COMPARATORS: Final = ("=", "<>", "<", "<=", ">", ">=")
MAX_IN_OPTIONS: Final = 100


# -- parsing ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _parse(start: str, text: str) -> Tree[Token]:
    return _PARSER.parse(text, start=start)


def _syntax_error(kind: str, text: str, exc: UnexpectedInput) -> ValidationException:
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        near = text[max(0, position - 8) : position + 8]
        return ValidationException(f'Invalid {kind}: Invalid token: "{char}", near: "{near.strip()}"')
    token = getattr(exc, "token", None)
    if isinstance(exc, UnexpectedEOF) or token is None or token.type == "$END":
        words = text.split()
        near = " ".join(words[-2:])
        return ValidationException(f'Invalid {kind}: Syntax error; token: "<EOF>", near: "{near}"')
    position = token.start_pos or 0
    before = text[:position].split()
    after = text[position + len(token.value) :].split()
    near = " ".join([*before[-1:], token.value, *after[:1]])
    return ValidationException(f'Invalid {kind}: Syntax error; token: "{token.value}", near: "{near}"')


class Compiler:
    """Compiles one request's expressions against its ExpressionAttributeNames and Values."""

    def __init__(self, names: dict[str, str] | None, values: dict[str, AttributeValue] | None) -> None:
        if names is not None and not names:
            raise ValidationException("ExpressionAttributeNames must not be empty")
        if values is not None and not values:
            raise ValidationException("ExpressionAttributeValues must not be empty")
        self.names = names or {}
        self.values = values or {}
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()
        self.compiled = 0
        self._kind = ""

    def _tree(self, start: str, kind: str, text: str) -> Tree[Token]:
        self._kind = kind
        self.compiled += 1
        if not text.strip():
            raise ValidationException(f"Invalid {kind}: The expression can not be empty;")
        try:
            return _parse(start, text)
        except UnexpectedToken as exc:
            raise _syntax_error(kind, text, exc) from None
        except UnexpectedInput as exc:
            raise _syntax_error(kind, text, exc) from None

    def _error(self, detail: str) -> ValidationException:
        return ValidationException(f"Invalid {self._kind}: {detail}")

    # -- entry points --------------------------------------------------------------------------------

    def condition(self, text: str, kind: str = "ConditionExpression") -> Condition:
        return self._condition(self._tree("condition", kind, text))

    def projection(self, text: str) -> list[Path]:
        tree = self._tree("projection", "ProjectionExpression", text)
        paths = [self._path(child) for child in tree.children if isinstance(child, Tree)]
        _check_overlaps(paths, self._error)
        return paths

    def update(self, text: str) -> Update:
        tree = self._tree("update", "UpdateExpression", text)
        update = Update()
        seen: set[str] = set()
        for clause in tree.children:
            assert isinstance(clause, Tree)
            name = str(clause.data).removesuffix("_clause").upper()
            if name in seen:
                raise self._error(f'The "{name}" section can only be used once in an update expression;')
            seen.add(name)
            parts = clause.children
            if name == "SET":
                for action in parts:
                    assert isinstance(action, Tree)
                    path, sign, value = action.children
                    if sign != "=":
                        raise self._error(f'Syntax error; token: "{sign}", near: "{sign}"')
                    update.set.append((self._path(path), self._update_operand(value)))
            elif name == "REMOVE":
                update.remove.extend(self._path(child) for child in parts)
            else:
                pairs = [(self._path(parts[i]), self._literal(parts[i + 1])) for i in range(0, len(parts), 2)]
                (update.add if name == "ADD" else update.delete).extend(pairs)
        _check_overlaps(update.paths(), self._error)
        return update

    def finish(self) -> None:
        """Refuses placeholders the request supplied but no expression used."""
        if self.compiled == 0:
            if self.names:
                raise ValidationException(
                    "ExpressionAttributeNames can only be specified when using expressions"
                )
            if self.values:
                raise ValidationException(
                    "ExpressionAttributeValues can only be specified when using expressions"
                )
        unused_names = sorted(set(self.names) - self.used_names)
        if unused_names:
            raise ValidationException(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: "
                f"{{{', '.join(unused_names)}}}"
            )
        unused_values = sorted(set(self.values) - self.used_values)
        if unused_values:
            raise ValidationException(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: "
                f"{{{', '.join(unused_values)}}}"
            )

    # -- trees to the AST ----------------------------------------------------------------------------

    def _path(self, node: Tree[Token] | Token) -> Path:
        assert isinstance(node, Tree) and node.data == "path"
        elements: list[PathElement] = []
        for token in node.children:
            assert isinstance(token, Token)
            if token.type == "INDEX":
                elements.append(int(token.value))
            elif token.type == "PLACEHOLDER":
                if token.value not in self.names:
                    raise self._error(
                        "An expression attribute name used in the document path is not defined; "
                        f"attribute name: {token.value}"
                    )
                self.used_names.add(token.value)
                elements.append(self.names[token.value])
            else:
                elements.append(token.value)
        return Path(tuple(elements))

    def _literal(self, node: Tree[Token] | Token) -> Literal:
        assert isinstance(node, Token)
        if node.value not in self.values:
            raise self._error(
                "An expression attribute value used in expression is not defined; "
                f"attribute value: {node.value}"
            )
        self.used_values.add(node.value)
        return Literal(self.values[node.value], node.value)

    def _operand(self, node: Tree[Token] | Token, allowed: dict[str, int] = OPERAND_FUNCTIONS) -> Operand:
        if isinstance(node, Token):
            return self._literal(node)
        if node.data == "path":
            return self._path(node)
        if node.data == "function":
            call = self._call(node)
            if call.name not in allowed:
                if call.name in CONDITION_FUNCTIONS or call.name in OPERAND_FUNCTIONS:
                    raise self._error(
                        "The function is not allowed to be used this way in an expression; "
                        f"function: {call.name}"
                    )
                raise self._error(f"Invalid function name; function: {call.name}")
            if call.name == "size" and not isinstance(call.args[0], Path):
                raise self._error("Operator or function requires a document path; operator or function: size")
            return call
        raise self._error(f'Syntax error; token: "{node.data}"')

    def _update_operand(self, node: Tree[Token] | Token) -> Operand:
        if isinstance(node, Tree) and node.data in ("plus", "minus"):
            left, right = (self._update_operand(child) for child in node.children)
            return Arithmetic(left, right, node.data == "minus")
        operand = self._operand(node, UPDATE_FUNCTIONS)
        if (
            isinstance(operand, Call)
            and operand.name == "if_not_exists"
            and not isinstance(operand.args[0], Path)
        ):
            raise self._error(
                "Operator or function requires a document path; operator or function: if_not_exists"
            )
        return operand

    def _call(self, node: Tree[Token]) -> Call:
        name_token, *arg_nodes = node.children
        assert isinstance(name_token, Token)
        name = name_token.value
        known = {**CONDITION_FUNCTIONS, **OPERAND_FUNCTIONS, **UPDATE_FUNCTIONS}
        if name not in known:
            raise self._error(f"Invalid function name; function: {name}")
        args_present = [child for child in arg_nodes if child is not None]
        if len(args_present) != known[name]:
            raise self._error(
                "Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args_present)}"
            )
        inner = UPDATE_FUNCTIONS if name in UPDATE_FUNCTIONS else OPERAND_FUNCTIONS
        args = tuple(self._operand(child, inner) for child in args_present)
        return Call(name, args)

    def _condition(self, node: Tree[Token] | Token) -> Condition:
        if isinstance(node, Token):
            raise self._error(f'Syntax error; token: "{node.value}"')
        data = node.data
        children = node.children
        if data == "or_":
            return Or(self._condition(children[0]), self._condition(children[1]))
        if data == "and_":
            return And(self._condition(children[0]), self._condition(children[1]))
        if data == "not_":
            return Not(self._condition(children[0]))
        if data == "compare":
            left, op, right = children
            assert isinstance(op, Token)
            return Compare(op.value, self._operand(left), self._operand(right))
        if data == "between":
            operand, low, high = (self._operand(child) for child in children)
            return Between(operand, low, high)
        if data == "in_":
            operand, *options = (self._operand(child) for child in children)
            if len(options) > MAX_IN_OPTIONS:
                raise self._error(
                    f"The IN operator is provided with too many operands; number of operands: {len(options)}"
                )
            return In(operand, tuple(options))
        if data == "function":
            call = self._call(node)
            if call.name not in CONDITION_FUNCTIONS:
                raise self._error(
                    f"The function is not allowed to be used this way in an expression; function: {call.name}"
                )
            if not isinstance(call.args[0], Path):
                raise self._error(
                    f"Operator or function requires a document path; operator or function: {call.name}"
                )
            if call.name == "attribute_type":
                _check_type_name(call.args[1], self._error)
            return call
        if data == "path":
            raise self._error(f'Syntax error; token: "{self._path(node)}"')
        raise self._error(f'Syntax error; token: "{data}"')


def _check_type_name(operand: Operand, error: ErrorFactory) -> None:
    if isinstance(operand, Literal):
        value = operand.value
        name = value.get("S")
        if name is None or name not in TYPES:
            shown = name if name is not None else next(iter(value.values()))
            raise error(
                f"Invalid attribute type name found; type: {shown}, valid types: "
                "{ B,NULL,SS,BOOL,L,BS,N,NS,S,M }"
            )


def _check_overlaps(paths: list[Path], error: ErrorFactory) -> None:
    for i, first in enumerate(paths):
        for second in paths[i + 1 :]:
            shorter = min(len(first.elements), len(second.elements))
            if first.elements[:shorter] == second.elements[:shorter]:
                one = ", ".join(str(e) for e in first.elements)
                two = ", ".join(str(e) for e in second.elements)
                how = "conflict" if first.elements == second.elements else "overlap"
                raise error(
                    f"Two document paths {how} with each other; must remove or rewrite one of these paths; "
                    f"path one: [{one}], path two: [{two}]"
                )
