"""corral/javaregex.py: Java's regular expressions on Python's ``re``, for every caller.

Each case states the ``java.util.regex`` behaviour it checks (``Pattern`` and ``Matcher``'s documentation).
"""

from __future__ import annotations

import re

import pytest

from corral.javaregex import UnsupportedPattern, compile_java, replacer, translate


def search(pattern: str, text: str, flags: int = 0) -> str | None:
    compiled = compile_java(pattern, flags)
    assert compiled is not None, pattern
    match = compiled.search(text)
    return None if match is None else match.group(0)


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        # POSIX classes, with or without "Is", inside and outside a class, negated
        ("\\p{Lower}+", "ABcdE", "cd"),
        ("\\p{IsAlpha}+", "1ab2", "ab"),
        ("\\P{Digit}+", "12ab34", "ab"),
        ("[\\p{Upper}\\p{Digit}]+", "aB3c", "B3"),
        ("[\\P{Alnum}x]+", "ab-x_c", "-x_"),
        ("\\p{XDigit}+", "xyz0fAg", "0fA"),
        # Unicode general categories: one letter, two letters, \pL, "Is", negated, in a class
        ("\\p{L}+", "12héllo34", "héllo"),
        ("\\pL+", "--Ωμ--", "Ωμ"),
        ("\\p{Lu}+", "abÉCd", "ÉC"),
        ("\\p{IsNd}+", "x٣4y", "٣4"),
        ("\\PL+", "ab12 cd", "12 "),
        ("[\\p{L}\\p{Z}]+", "1ö ä\u30002", "ö ä\u3000"),
        ("[^\\p{C}]+", "\x00ok\x01", "ok"),
        ("[\\P{L}a]+", "bca1-b", "a1-"),
        ("\\p{So}", "x😀", "😀"),
        # surrogate pairs: the one code point, alone and as a range's ends
        ("\\uD83D\\uDE00", "a😀", "😀"),
        ("[\\uD800\\uDC00-\\uDBFF\\uDFFF]+", "ab😀𐍈c", "😀𐍈"),
        ("[\\u0020-\\uD7FF]+", "\x00ab\x01", "ab"),
        # Java's other escapes
        ("a\\hb", "a\u00a0b", "a\u00a0b"),
        ("\\H+", " \tab ", "ab"),
        ("\\v", "a\u2028b", "\u2028"),
        ("[\\v]", "a\x0bb", "\x0b"),
        ("\\V+", "\nab\r", "ab"),
        ("a\\Rb", "a\r\nb", "a\r\nb"),
        ("\\e", "x\x1b", "\x1b"),
        ("\\cA", "\x01", "\x01"),
        ("\\0101\\07", "A\x07", "A\x07"),
        ("\\x{1F600}", "😀", "😀"),
        ("[\\x{41}-\\x{43}]+", "ABCD", "ABC"),
        ("\\Qa.b*\\E+", "a.b**", "a.b**"),
        ("\\Qa.b", "xa.b", "a.b"),  # \Q without \E quotes to the end
        ("ab\\Z", "ab\n", "ab"),
        ("(?<first>a)\\k<first>", "xaa", "aa"),
        ("[a--]+", "a-b", "a-"),
        ("[|~]{2}", "a|~", "|~"),
        ("[]a]+", "x]a]", "]a]"),
        ("[^]a]+", "]]bc", "bc"),
        ("(?<=a)b(?<!c)", "ab", "b"),
    ],
)
def test_java_meaning(pattern: str, text: str, found: str) -> None:
    assert search(pattern, text) == found


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("ab\\z", "ab\n"),  # \z: the very end
        ("\\p{Lower}", "É"),  # POSIX classes are US-ASCII
        ("[\\P{L}a]", "b"),
        ("\\uD83D\\uDE00", "\ud83d\ude00"),  # not two lone surrogates
    ],
)
def test_java_refuses_match(pattern: str, text: str) -> None:
    assert search(pattern, text) is None


def test_flags_are_the_callers() -> None:
    assert search("\\d", "٣") == "٣"
    assert search("\\d", "٣", re.ASCII) is None
    assert search("\\w+", "é", re.ASCII) is None


@pytest.mark.parametrize(
    "pattern",
    [
        "[a[b]]",  # nested class
        "[a-z&&[^b]]",  # intersection
        "\\p{IsLatin}",  # a script
        "\\p{InGreek}",  # a block
        "\\p{IsAlphabetic}",  # a binary property
        "\\p{javaLowerCase}",
        "\\p{Nope}",
        "\\p{",
        "\\p{}",
        "\\G",
        "\\X",
        "(?U)\\w",
        "(?u:a)",
        "(?d)a",
        "[\\R]",
        "[\\Qa\\E]",
        "\\k<1>",
        "\\cx\\c",
        "\\0",
        "\\0400",
        "\\x{110000}",
        "\\x{zz}",
        "\\x{41",
        "[abc",
        "abc\\",
    ],
)
def test_refused(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern):
        translate(pattern)
    assert compile_java(pattern) is None


def test_invalid_python_pattern_is_none() -> None:
    assert compile_java("(") is None
    assert compile_java("a{2,1}") is None


def test_common_patterns_are_left_alone() -> None:
    assert translate("^[a-zA-Z0-9:_-]+$") == "^[a-zA-Z0-9:_-]+$"
    assert translate("(?<name>x)\\k<name>") == "(?P<name>x)(?P=name)"
    assert translate("(?i)a(?:b)") == "(?i)a(?:b)"


def test_compiled_patterns_are_cached() -> None:
    assert compile_java("\\p{L}+") is compile_java("\\p{L}+")
    assert compile_java("a", re.ASCII) is not compile_java("a")


@pytest.mark.parametrize(
    ("pattern", "replacement", "text", "expected"),
    [
        ("b(.*)d", "$1", "abcd", "ac"),
        ("(\\d+)-(\\d+)", "$2/$1", "1-2", "2/1"),
        ("(?<first>a)(?<second>b)", "${second}${first}", "ab", "ba"),
        ("(a)", "\\$1", "ab", "$1b"),  # \$ is a literal dollar sign
        ("(a)", "$12", "ab", "a2b"),  # digits are taken while they name a group
        ("(a)|(b)", "[$2]", "ab", "[][b]"),  # a group that did not take part is empty
        ("a", "$0$0", "ab", "aab"),
    ],
)
def test_replacement(pattern: str, replacement: str, text: str, expected: str) -> None:
    compiled = compile_java(pattern)
    assert compiled is not None
    expand = replacer(replacement, compiled)
    assert expand is not None
    assert compiled.sub(expand, text) == expected


@pytest.mark.parametrize("replacement", ["$2", "$x", "${missing}", "$", "a\\"])
def test_invalid_replacement(replacement: str) -> None:
    compiled = compile_java("(a)")
    assert compiled is not None
    assert replacer(replacement, compiled) is None
