"""querylang.similar: SQL SIMILAR TO (PostgreSQL semantics) as an anchored regex plus a like prefilter."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from querylang.errors import FilterError
from querylang.similar import compile_similar

MATCHES = [
    ("/PromptReco/Collisions2018(A|B)/DQM", "/PromptReco/Collisions2018A/DQM", True),
    ("/PromptReco/Collisions2018(A|B)/DQM", "/PromptReco/Collisions2018B/DQM", True),
    ("/PromptReco/Collisions2018(A|B)/DQM", "/PromptReco/Collisions2018C/DQM", False),
    ("/PromptReco/Collisions2018(A|B)/DQM", "/PromptReco/Collisions2018AB/DQM", False),
    ("/PromptReco/Collisions2018%/DQM", "/PromptReco/Collisions2018D/DQM", True),
    ("/PromptReco/Collisions2018%/DQM", "/PromptReco/Collisions2018D/DQMx", False),  # anchored at the end
    ("/PromptReco/Collisions2018%/DQM", "x/PromptReco/Collisions2018D/DQM", False),  # and at the start
    ("/PromptReco/Collisions2018_/DQM", "/PromptReco/Collisions2018A/DQM", True),
    ("/PromptReco/Collisions2018_/DQM", "/PromptReco/Collisions2018/DQM", False),
    ("/PromptReco/Collisions2018[A-C]/DQM", "/PromptReco/Collisions2018B/DQM", True),
    ("/PromptReco/Collisions2018[A-C]/DQM", "/PromptReco/Collisions2018D/DQM", False),
    ("/PromptReco/Collisions2018[^A-C]/DQM", "/PromptReco/Collisions2018D/DQM", True),
    ("/Express.Cosmics/%", "/Express.Cosmics/DQM", True),
    ("/Express.Cosmics/%", "/ExpressXCosmics/DQM", False),  # "." is literal
    ("a$b^c", "a$b^c", True),  # so are regex anchors
    ("%", "", True),
    ("_", "", False),
    ("online", "online", True),
    ("online", "Online", False),  # case-sensitive
    ("ab*c", "ac", True),
    ("ab*c", "abbbc", True),
    ("ab+c", "ac", False),
    ("ab?c", "abc", True),
    ("ab?c", "abbc", False),
    ("a(bc)+", "abcbc", True),
    ("a(bc)+", "abcb", False),
    ("ab{2}c", "abbc", True),
    ("ab{2}c", "abc", False),
    ("ab{2,}c", "abbbbc", True),
    ("ab{1,2}c", "abbbc", False),
    ("a|b", "a", True),
    ("a|b", "ab", False),
    ("100\\%", "100%", True),
    ("100\\%", "1000", False),
    ("a\\_b", "a_b", True),
    ("a\\_b", "axb", False),
    ("[[:digit:]]+", "2018", True),
    ("[[:digit:]]+", "20a8", False),
    ("[]a]", "]", True),
    ("[a-]", "-", True),
    ("a%", "a\nb", True),  # % spans newlines
]


@pytest.mark.parametrize(("pattern", "name", "expected"), MATCHES)
def test_similar_to_table(pattern: str, name: str, expected: bool) -> None:
    assert compile_similar(pattern).matches(name) is expected


@pytest.mark.parametrize(
    ("pattern", "like", "exact"),
    [
        ("/PromptReco/Collisions2018(A|B)/DQM", "/PromptReco/Collisions2018%/DQM", False),
        ("/PromptReco/Collisions2018%/DQM", "/PromptReco/Collisions2018%/DQM", True),
        ("/PromptReco/Collisions2018_/DQM", "/PromptReco/Collisions2018_/DQM", True),
        ("/PromptReco/Collisions2018[AB]/DQM", "/PromptReco/Collisions2018_/DQM", False),
        ("%(A|B)%", "%", False),
        ("a|b", "%", False),
        ("100\\%", "100_", False),
        ("ab*", "a%", False),
        ("online", "online", True),
    ],
)
def test_like_prefilter(pattern: str, like: str, exact: bool) -> None:
    compiled = compile_similar(pattern)
    assert (compiled.like, compiled.like_is_exact) == (like, exact)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a(b", "never closed"),
        ("a)b", "unbalanced ')'"),
        ("[ab", "never closed"),
        ("*a", "repeats nothing"),
        ("a{x}", "repeat count"),
        ("a{3,1}", "reversed"),
        ("ab\\", "ends with the escape"),
        ("[[:foo:]]", "unsupported character class"),
    ],
)
def test_malformed_patterns(pattern: str, message: str) -> None:
    with pytest.raises(FilterError, match=re.escape(message)):
        compile_similar(pattern)


def _like_regex(like: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in like), re.DOTALL)


@given(st.text("ab%_|()*+?[]{},1\\", max_size=8), st.text("ab%_\\", max_size=6))
def test_like_prefilter_never_loses_a_name(pattern: str, name: str) -> None:
    try:
        compiled = compile_similar(pattern)
    except FilterError:
        return
    like_match = _like_regex(compiled.like).fullmatch(name) is not None
    if compiled.matches(name):
        assert like_match
    if compiled.like_is_exact:
        assert compiled.matches(name) == like_match
