"""SQL ``SIMILAR TO`` and ``LIKE`` patterns matched in linear time, and ``like`` prefilters.

``SIMILAR TO`` (the golden-JSON dataset filter), PostgreSQL semantics: the pattern matches the *whole* name,
case-sensitively; ``%`` is any string, ``_`` any character, ``|`` alternation, ``(...)`` grouping, ``[...]`` a
bracket expression, ``*``, ``+``, ``?`` and ``{m}``, ``{m,}``, ``{m,n}`` repeat the previous item, ``\\`` escapes the
next character, and every other character (``.`` included) is literal. ``LIKE`` (:func:`compile_like`, the
``like``/``notlike`` filter operators): ``%``, ``_`` and ``\\`` only.

``SIMILAR TO`` compiles to RE2 and ``LIKE`` to its fixed-length pieces placed leftmost (:class:`LikePattern`):
both match in time linear in the name whatever the pattern (no backtracking), so a pattern such as
``%%%%%%%%%%%%%%%%%%%%%%%%!`` cannot stall a caller. Patterns longer than
:data:`MAX_PATTERN_LENGTH`, groups nested deeper than :data:`MAX_GROUP_DEPTH`, repeat counts above 1000, patterns
too large for RE2 and text that is not valid Unicode are a :class:`FilterError`.

>>> pattern = compile_similar("/PromptReco/Collisions2018(A|B)/DQM")
>>> pattern.matches("/PromptReco/Collisions2018A/DQM"), pattern.matches("/PromptReco/Collisions2018C/DQM")
(True, False)
>>> pattern.like, pattern.like_is_exact
('/PromptReco/Collisions2018%/DQM', False)
>>> compile_similar("/PromptReco/Collisions2018_/DQM").like_is_exact
True
>>> compile_similar("/Express.Cosmics/%").matches("/ExpressXCosmics/DQM")   # "." is literal
False
>>> compile_like("%PHYSICS%", case_sensitive=False).matches("/cdaq/physics/Run2018")
True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Union

import re2

from querylang.errors import ArgumentError, FilterError
from querylang.limits import check_text

__all__ = [
    "MAX_GROUP_DEPTH",
    "MAX_PATTERN_LENGTH",
    "LikePattern",
    "SimilarPattern",
    "compile_like",
    "compile_similar",
    "re2_program",
]

#: Longest ``SIMILAR TO`` or ``LIKE`` pattern accepted, in characters.
MAX_PATTERN_LENGTH: Final = 1000
#: Deepest nesting of ``(...)`` groups in a ``SIMILAR TO`` pattern.
MAX_GROUP_DEPTH: Final = 32
_RE2_MAX_MEM: Final = 8 << 20
_QUANTIFIER: Final = re.compile(r"\{(\d+)(,(\d*))?\}")
_POSIX_CLASSES: Final = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\n\r\f\v",
    "xdigit": "0-9A-Fa-f",
}


# -- matching -------------------------------------------------------------------------------------------------


def _check_pattern(pattern: object, what: str) -> str:
    if not isinstance(pattern, str):
        raise FilterError(f"a {what} pattern must be a string", value=pattern)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterError(
            f"the {what} pattern is {len(pattern)} characters long, more than the {MAX_PATTERN_LENGTH} allowed",
            value=pattern[:40] + "...",
        )
    check_text(pattern, FilterError)
    return pattern


@functools.lru_cache(maxsize=512)
def re2_program(regex: str, *, case_sensitive: bool = True) -> re2._Regexp[str]:
    """An RE2 program for ``regex`` (``.`` matches newlines too, ``$`` only at the very end): it matches in time
    linear in the text. :class:`FilterError` if RE2 refuses it (back-references, look-around, too large).

    >>> bool(re2_program("^(a+)+$").search("a" * 40 + "!"))
    False
    """
    options = re2.Options()
    options.dot_nl = True
    options.case_sensitive = case_sensitive
    options.log_errors = False
    options.max_mem = _RE2_MAX_MEM
    try:
        return re2.compile(regex, options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise FilterError(f"pattern too complex to match in linear time ({reason})") from None


def _literal(char: str) -> str:
    """``char`` as an RE2 literal: ASCII punctuation and whitespace escaped, everything else as is."""
    return "\\" + char if char.isascii() and not (char.isalnum() or char == "_") else char


def _fullmatch(program: re2._Regexp[str], text: str) -> bool:
    try:
        return program.fullmatch(text) is not None
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 form, so no SQL text could hold it
        return False


@dataclass(frozen=True)
class LikePattern:
    """A compiled SQL ``LIKE`` (``case_sensitive``) or ``ILIKE`` pattern.

    It is kept as the fixed-length pieces between its ``%`` wildcards; matching places each piece at its
    leftmost possible position, never revisiting it, which is exact for ``LIKE`` and takes time linear in the
    text (times the pattern's length), whatever the pattern.

    >>> like = compile_like("/cdaq/%/Run2018_%", case_sensitive=True)
    >>> like.matches("/cdaq/physics/Run2018A/v1"), like.matches("/cdaq/physics/Run2018")
    (True, False)
    """

    pattern: str
    case_sensitive: bool
    _pieces: tuple[tuple[re.Pattern[str], int], ...] = field(repr=False, compare=False)

    def matches(self, text: str) -> bool:
        """Whether ``text LIKE pattern`` (or ``ILIKE``)."""
        (first, first_length), *middle = self._pieces
        if not middle:  # no %: the whole text
            return first.fullmatch(text) is not None
        last, last_length = middle.pop()
        tail = len(text) - last_length
        if tail < first_length or first.match(text) is None or last.fullmatch(text, tail) is None:
            return False
        position = first_length
        for piece, _ in middle:
            found = piece.search(text, position, tail)
            if found is None:
                return False
            position = found.end()
        return True


def compile_like(pattern: str, *, case_sensitive: bool) -> LikePattern:
    """Compile a ``LIKE`` pattern: ``%`` any string, ``_`` one character, ``\\`` escapes the next character
    (a trailing ``\\`` is literal); :class:`FilterError` if it is too long or not valid Unicode.

    >>> compile_like("%_%_%_%_%_%_%_%_%_%_%!", case_sensitive=False).matches("x" * 100_000)
    False
    """
    text = _check_pattern(pattern, "LIKE")
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    pieces: list[list[str]] = [[]]
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            pieces[-1].append(re.escape(text[index + 1]))
            index += 1
        elif char == "%":
            pieces.append([])
        else:
            pieces[-1].append("." if char == "_" else re.escape(char))
        index += 1
    kept = [pieces[0], *(p for p in pieces[1:-1] if p), pieces[-1]] if len(pieces) > 1 else pieces
    compiled = tuple((re.compile("".join(piece), flags), len(piece)) for piece in kept)
    return LikePattern(text, case_sensitive, compiled)


# -- nodes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Char:
    char: str


@dataclass(frozen=True)
class _AnyChar:
    pass


@dataclass(frozen=True)
class _AnyString:
    pass


@dataclass(frozen=True)
class _Bracket:
    regex: str  # already a Python character class, e.g. "[A-C]"


@dataclass(frozen=True)
class _Alternation:
    branches: tuple[tuple[_Node, ...], ...]


@dataclass(frozen=True)
class _Repeat:
    item: _Node
    low: int
    high: int | None

    def __post_init__(self) -> None:
        if self.high is not None and self.high < self.low:
            raise ArgumentError("bad repeat bounds")


_Node = Union[_Char, _AnyChar, _AnyString, _Bracket, _Alternation, _Repeat]  # noqa: UP007 (a runtime alias on 3.10)


# -- the parsed pattern ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimilarPattern:
    """A compiled ``SIMILAR TO`` pattern: ``regex`` (its RE2 form, matched whole) and the ``like`` prefilter.

    Every name matching ``regex`` matches ``like`` (as a case-sensitive SQL ``LIKE``, so a fortiori as the
    case-insensitive ``like`` of runql filters); ``like_is_exact`` says the converse holds too.
    """

    pattern: str
    regex: str
    like: str
    like_is_exact: bool
    _program: re2._Regexp[str] = field(repr=False, compare=False)

    def matches(self, name: str) -> bool:
        """Whether ``name SIMILAR TO pattern``, in time linear in ``name``."""
        return _fullmatch(self._program, name)


def compile_similar(pattern: str, *, escape: str = "\\") -> SimilarPattern:
    """Parse ``pattern``; raises :class:`FilterError` for a malformed one (unbalanced ``(`` or ``[``...).

    >>> compile_similar("run[0-9]{3}%").regex
    'run[0-9]{3}.*'
    >>> compile_similar("a(b")
    Traceback (most recent call last):
    ...
    querylang.errors.FilterError: filter: invalid SIMILAR TO pattern: '(' at position 1 is never closed; got 'a(b'
    """
    text = _check_pattern(pattern, "SIMILAR TO")
    if len(escape) > 1:
        raise FilterError("the escape must be one character or empty", value=escape)
    nodes = _Parser(text, escape).parse()
    like, exact = _like(nodes)
    regex = _regex(nodes)
    return SimilarPattern(text, regex, like, exact, re2_program(regex))


# -- parsing ------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, pattern: str, escape: str) -> None:
        self.text = pattern
        self.escape = escape
        self.pos = 0
        self.depth = 0

    def error(self, message: str) -> FilterError:
        return FilterError(f"invalid SIMILAR TO pattern: {message}", value=self.text)

    def parse(self) -> tuple[_Node, ...]:
        branches = self.alternatives()
        if self.pos < len(self.text):  # only a stray ")" stops the top level early
            raise self.error(f"unbalanced ')' at position {self.pos}")
        return branches[0] if len(branches) == 1 else (_Alternation(branches),)

    def alternatives(self) -> tuple[tuple[_Node, ...], ...]:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return tuple(branches)

    def sequence(self) -> tuple[_Node, ...]:
        items: list[_Node] = []
        while self.pos < len(self.text) and self.peek() not in "|)":
            items.append(self.quantified(self.atom()))
        return tuple(items)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def atom(self) -> _Node:
        char = self.text[self.pos]
        self.pos += 1
        if self.escape and char == self.escape:
            if self.pos >= len(self.text):
                raise self.error("the pattern ends with the escape character")
            self.pos += 1
            return _Char(self.text[self.pos - 1])
        if char in "*+?{":
            raise self.error(f"{char!r} at position {self.pos - 1} repeats nothing")
        simple: dict[str, _Node] = {"%": _AnyString(), "_": _AnyChar()}
        if char in simple:
            return simple[char]
        if char == "(":
            return self.group(self.pos - 1)
        if char == "[":
            return self.bracket(self.pos - 1)
        return _Char(char)

    def group(self, start: int) -> _Node:
        self.depth += 1
        if self.depth > MAX_GROUP_DEPTH:
            raise self.error(f"groups nested deeper than {MAX_GROUP_DEPTH} levels at position {start}")
        branches = self.alternatives()
        self.depth -= 1
        if self.peek() != ")":
            raise self.error(f"'(' at position {start} is never closed")
        self.pos += 1
        return _Alternation(branches)

    def bracket(self, start: int) -> _Node:
        """``[...]``: a ``]`` right after ``[`` or ``[^`` is literal; ``[:class:]`` may hold a ``]``."""
        index = self.pos + (1 if self.text.startswith("^", self.pos) else 0)
        index += 1 if self.text.startswith("]", index) else 0
        while index < len(self.text) and self.text[index] != "]":
            if self.text.startswith("[:", index) and ":]" in self.text[index + 2 :]:
                index = self.text.index(":]", index + 2) + 2
            else:
                index += 1
        if index >= len(self.text):
            raise self.error(f"'[' at position {start} is never closed")
        body = self.text[self.pos : index]
        self.pos = index + 1
        return _Bracket(_bracket_regex(body, self.error))

    def quantified(self, item: _Node) -> _Node:
        while self.peek() and self.peek() in "*+?{":
            char = self.peek()
            if char == "{":
                match = _QUANTIFIER.match(self.text, self.pos)
                if not match:
                    raise self.error(f"'{{' at position {self.pos} is not a repeat count {{m}}, {{m,}} or {{m,n}}")
                low = int(match.group(1))
                high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else None)
                if high is not None and high < low:
                    raise self.error(f"repeat count {match.group()} has its bounds reversed")
                self.pos = match.end()
            else:
                low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
                self.pos += 1
            item = _Repeat(item, low, high)
        return item


def _bracket_regex(body: str, error: Callable[[str], FilterError]) -> str:
    """A POSIX bracket expression body (``^`` negation, ranges, ``[:alpha:]``) as a Python character class."""
    negated = body.startswith("^")
    body = body[1:] if negated else body
    out, index = [], 0
    while index < len(body):
        if body.startswith("[:", index):
            end = body.find(":]", index + 2)
            name = body[index + 2 : end] if end > 0 else ""
            if name not in _POSIX_CLASSES:
                raise error(f"unsupported character class [:{name}:]")
            out.append(_POSIX_CLASSES[name])
            index = end + 2
            continue
        char = body[index]
        out.append("-" if char == "-" and 0 < index < len(body) - 1 else _literal(char))
        index += 1
    return "[" + ("^" if negated else "") + "".join(out) + "]"


# -- compiling ----------------------------------------------------------------------------------------------------


def _regex(nodes: tuple[_Node, ...]) -> str:
    return "".join(_regex_of(node) for node in nodes)


def _regex_of(node: _Node) -> str:
    if isinstance(node, _Char):
        return _literal(node.char)
    if isinstance(node, _AnyChar):
        return "."
    if isinstance(node, _AnyString):
        return ".*"
    if isinstance(node, _Bracket):
        return node.regex
    if isinstance(node, _Alternation):
        return "(?:" + "|".join(_regex(branch) for branch in node.branches) + ")"
    high = "" if node.high is None else str(node.high)
    count = f"{{{node.low}}}" if node.high == node.low else f"{{{node.low},{high}}}"
    item = _regex_of(node.item)
    single = isinstance(node.item, (_Char, _AnyChar, _Bracket))
    return (item if single else "(?:" + item + ")") + count


def _like(nodes: tuple[_Node, ...]) -> tuple[str, bool]:
    """The tightest ``LIKE`` pattern matching every name the nodes match, and whether it matches no more.

    ``%``, ``_`` and plain characters carry over; a bracket matches one character (``_``); anything else
    (alternation, repeats) becomes ``%``. Literal ``%``, ``_`` and ``\\`` become ``_`` (no escapes in ``like``).
    """
    parts: list[str] = []
    exact = True
    for node in nodes:
        if isinstance(node, _Char):
            special = node.char in "%_\\"
            parts.append("_" if special else node.char)
            exact = exact and not special
        elif isinstance(node, (_AnyChar, _AnyString)):
            parts.append("_" if isinstance(node, _AnyChar) else "%")
        else:
            parts.append("_" if isinstance(node, _Bracket) else "%")
            exact = False
        if parts[-1] == "%" and len(parts) > 1 and parts[-2] == "%":
            parts.pop()
    return "".join(parts), exact
