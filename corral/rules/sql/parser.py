"""IoT SQL text -> lark parse tree, with errors that say where (line and column, both from 1).

The grammar is ``grammar.lark`` next to this module, read through ``importlib.resources`` so that it is
found in an installed package too (it must be listed as package data).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from corral.rules.sql.errors import SqlParseError

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "DQSTRING": "a string",
    "INT": "a number",
    "DECIMAL": "a number",
    "STAR": "'*'",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'/' or '%'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "COLON": "':'",
    "DOT": "'.'",
    "$END": "the end of the statement",
}


@cache
def _parser() -> Lark:
    grammar = resources.files("corral.rules.sql").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
    )


def _describe(expected: set[str]) -> str:
    names = sorted({_TERMINAL_NAMES.get(name, name) for name in expected})
    return ", ".join(names)


def parse(sql: str) -> Tree[Any]:
    """The parse tree of one statement; ``SqlParseError`` when it is not IoT SQL."""
    try:
        return _parser().parse(sql)
    except UnexpectedEOF as error:
        line, column = _end_position(sql)
        raise SqlParseError(
            f"Unexpected end of statement; expected {_describe(set(error.expected))}", line, column
        ) from None
    except UnexpectedToken as error:
        token = error.token
        if token.type == "$END":
            line, column = _end_position(sql)
            message = f"Unexpected end of statement; expected {_describe(set(error.expected))}"
        else:
            line, column = token.line or 1, token.column or 1
            message = f"Unexpected {token.value!r}; expected {_describe(set(error.expected))}"
        raise SqlParseError(message, line, column) from None
    except UnexpectedCharacters as error:
        raise SqlParseError(
            f"Unexpected character {sql[error.pos_in_stream or 0]!r}", error.line, error.column
        ) from None
    except UnexpectedInput as error:  # pragma: no cover - the three above are all LALR raises
        raise SqlParseError(str(error), error.line, error.column) from None


def _end_position(sql: str) -> tuple[int, int]:
    lines = sql.split("\n")
    return len(lines), len(lines[-1]) + 1
