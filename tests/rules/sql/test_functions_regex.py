"""regexp_matches, regexp_replace, regexp_substr with Java's regular-expression semantics.

Rows and examples from AWS's *Functions* page
(https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html); where Java's
``java.util.regex`` and Python's ``re`` differ, the case says which Java behaviour it checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from corral.rules.sql.context import EvalContext
from corral.rules.sql.functions import FUNCTIONS
from corral.rules.sql.functions_regex import compile_java, translate
from corral.rules.sql.values import UNDEFINED, Value

CONTEXT = EvalContext(
    topic="a/b", payload=b"{}", timestamp_ms=1_481_825_251_155, account_id="123456789012", region="us-east-1"
)


def call(name: str, *args: Value) -> Value:
    return FUNCTIONS[name].call(CONTEXT, args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("aaaa", "a{2,}"), True),  # example
        (("aaaa", "b"), False),  # example
        (("xaay", "a+"), True),  # "contains a match" (find), not a whole-string match
        ((1234, "^\\d+$"), True),  # Int row: the String representation
        ((1.5, "\\."), True),  # Decimal row
        ((True, "^true$"), True),  # Boolean row
        (([1, 2], "^\\[1,2\\]$"), True),  # Array row: the JSON text
        (({"a": 1}, '"a"'), True),  # Object row
        ((None, "a"), UNDEFINED),  # Null row
        ((UNDEFINED, "a"), UNDEFINED),  # Undefined row
        (("a", "("), UNDEFINED),  # "If the (converted) argument is not valid regex, the result is Undefined"
        (("a", None), UNDEFINED),
        (("12", 12), True),  # "Non-string types are converted to String"
    ],
)
def test_regexp_matches(args: Sequence[Value], expected: Value) -> None:
    assert call("regexp_matches", *args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("abcd", "bc", "x"), "axd"),  # example
        (("abcd", "b(.*)d", "$1"), "ac"),  # example: "Reference capture groups with $"
        (("aXbXc", "X", "-"), "a-b-c"),  # all occurrences
        (("2020-01-02", "(\\d+)-(\\d+)-(\\d+)", "$3/$2/$1"), "02/01/2020"),
        (("ab", "(?<first>a)(?<second>b)", "${second}${first}"), "ba"),  # Java's named groups
        (("ab", "(a)", "\\$1"), "$1b"),  # "\$" is a literal dollar sign
        (("ab", "(a)", "$12"), "a2b"),  # "$12" is group 1 then "2": the pattern has one group
        (("ab", "(a)", "$2"), UNDEFINED),  # no group 2: not a valid replacement
        (("ab", "(a)", "$x"), UNDEFINED),
        (("ab", "(a)", "${missing}"), UNDEFINED),
        (("ab", "(a)|(b)", "[$2]"), "[][b]"),  # a group that did not take part is empty
        ((123, "2", 9), "193"),  # all three arguments converted to String
        ((None, "a", "b"), UNDEFINED),  # Null row
        (("a", "(", "b"), UNDEFINED),  # invalid pattern
        (("a", "a", None), UNDEFINED),
    ],
)
def test_regexp_replace(args: Sequence[Value], expected: Value) -> None:
    assert call("regexp_replace", *args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("hihihello", "hi"), "hi"),  # example
        (("hihihello", "(hi)*"), "hihi"),  # example
        (("order 66 of 99", "\\d+"), "66"),  # the first match
        (("abc", "x"), UNDEFINED),  # no match (the page does not say): Undefined
        ((3.25, "\\d\\.\\d"), "3.2"),  # Decimal row
        ((None, "a"), UNDEFINED),
        (("a", "["), UNDEFINED),
    ],
)
def test_regexp_substr(args: Sequence[Value], expected: Value) -> None:
    assert call("regexp_substr", *args) == expected


# --- Java semantics ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("٣", "\\d", False),  # Java's \d is [0-9] (Python's str patterns match any Unicode digit)
        ("é", "^\\w$", False),  # Java's \w is [a-zA-Z_0-9]
        ("É", "(?i)é", False),  # case-insensitive matching is ASCII-only without (?u)
        ("abc", "^\\p{Lower}+$", True),  # POSIX classes
        ("aB3", "^\\p{Alnum}+$", True),
        ("ab", "\\P{Alpha}", False),
        ("a b", "[\\p{Punct}\\p{Space}]", True),
        ("a\tb", "a\\hb", True),  # \h: horizontal whitespace
        ("a.b*c", "\\Qa.b*\\E", True),  # \Q…\E quotes
        ("axb*c", "\\Qa.b*\\E", False),
        ("abab", "(?<x>ab)\\k<x>", True),  # named backreference
        ("ab\n", "ab\\Z", True),  # Java's \Z allows a final line terminator
        ("ab\n", "ab\\z", False),  # Java's \z does not
        ("a\r\nb", "a\\Rb", True),  # \R: any line break
        ("x\u001b", "\\e", True),  # escape character
        ("\u0001", "\\cA", True),  # control character
        ("A", "\\0101", True),  # octal escape
        ("€", "\\x{20AC}", True),
        ("a-b", "[a--]", True),  # Java reads "--" in a class as two literal characters
        ("aaa", "a++a", False),  # possessive quantifier
        ("aaa", "(?>a+)a", False),  # atomic group
        ("é", "^\\p{L}$", True),  # Unicode general categories
        ("é", "^\\p{Lu}$", False),
        ("aÉ", "^\\pL\\p{IsLu}$", True),
        ("a1", "^[\\P{L}a]+$", True),  # a negated class inside a class
    ],
)
def test_java_semantics(text: str, pattern: str, expected: bool) -> None:
    assert call("regexp_matches", text, pattern) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "[a-z&&[^b]]",  # class intersection: Java only
        "[a[b]]",  # class union: Java only
        "\\p{IsLatin}",  # Unicode scripts are not translated
        "\\G",
        "(?U)\\w",
        "abc\\",
    ],
)
def test_untranslatable_patterns_are_undefined(pattern: str) -> None:
    assert compile_java(pattern) is None
    assert call("regexp_matches", "abc", pattern) is UNDEFINED


def test_translation_leaves_common_patterns_alone() -> None:
    assert translate("^[a-z]+(\\d{2,})?$") == "^[a-z]+(\\d{2,})?$"
    assert translate("(?<name>x)(?<=y)(?<!z)") == "(?P<name>x)(?<=y)(?<!z)"
