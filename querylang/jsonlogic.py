"""A compile-once json-logic evaluator with the exact semantics of json-logic-js 1.2.3.

The Run Registry evaluates golden-JSON rules with json-logic-js 1.2.3, so this module reproduces that library,
JavaScript coercions included: loose ``==`` (``1 == "1"``, ``[] == false``, ``null == 0`` is false),
relational comparison (``null <= 7000`` is true, strings compare as strings only when both are strings), ``+``
through ``parseFloat``, division by zero giving ``Infinity``, ``[]`` falsy but ``{}`` and ``"0"`` truthy, and
JavaScript number formatting wherever a number becomes a string.

A rule is compiled once into nested Python closures; evaluating it on a data object is then a plain call.

>>> from querylang import jsonlogic
>>> jsonlogic.apply({"==": [1, "1"]})
True
>>> is_good = jsonlogic.compile_rule({"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]})
>>> is_good({"lumisection": {"rr": {"dt-dt": "GOOD"}}})
True
>>> jsonlogic.apply({"cat": ["run ", 1.0, " at ", 0.1]})
'run 1 at 0.1'
>>> jsonlogic.apply({"/": [1, 0]})
inf

Differences from json-logic-js, all on purpose:

* JavaScript ``undefined`` (what js returns for ``{"and": []}``, for instance) is represented by a private
  sentinel inside the evaluator and becomes ``None`` at the boundary: :func:`apply` and the functions returned by
  :func:`compile_rule` never return it (inside arrays it becomes ``None`` too, and object keys holding it are
  dropped, exactly what ``JSON.stringify`` does).
* Operator names are checked when the rule is compiled: an unknown operator raises :class:`RuleError` even in a
  branch that would never be evaluated (js throws "Unrecognized operation" only when it gets there). Names
  inherited from ``Object.prototype`` (``toString``, ``constructor``...) are unknown operators here.
* ``method`` is always rejected (it calls arbitrary methods; json-logic-js 2.0 removed it).
* Properties that JavaScript values inherit (``"abc".toUpperCase``, ``[].map``...) are not emulated by ``var``;
  own data (object keys, array indices, ``length`` of arrays and strings) is.
* ``log`` writes to this module's logger at INFO level instead of the console.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from querylang.catalogue import Catalogue
from querylang.errors import PathPart, RuleError
from querylang.limits import check_json, check_nesting

__all__ = [
    "OPERATORS",
    "Evaluator",
    "apply",
    "compile_predicate",
    "compile_rule",
    "js_number",
    "js_string",
    "truthy",
]

logger = logging.getLogger(__name__)

#: A compiled rule (or sub-rule): data object in, json-logic value out.
Evaluator = Callable[[Any], Any]


class _Undefined:
    """JavaScript ``undefined``: a single private instance, never returned to callers."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


_UNDEFINED: Final = _Undefined()
_NAN: Final = math.nan
_INF: Final = math.inf
_MAX_SAFE_INTEGER: Final = 2**53

# ---------------------------------------------------------------------------------------------------------
# JavaScript values: types, truthiness, coercions.

_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL_LITERAL: Final = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_NON_DECIMAL_LITERAL: Final = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")


def _is_array(value: Any) -> bool:
    return type(value) is list or type(value) is tuple


def _js_type(value: Any) -> str:
    """The JavaScript type of a JSON value: undefined, null, boolean, number, string or object."""
    if value is None:
        return "null"
    if value is _UNDEFINED:
        return "undefined"
    kind = type(value)
    if kind is bool:
        return "boolean"
    if kind is int or kind is float:
        return "number"
    if kind is str:
        return "string"
    if kind is list or kind is tuple or kind is dict:
        return "object"
    raise RuleError("data holds a value that is not JSON", value=value, allowed="JSON values")


def truthy(value: Any) -> bool:
    """json-logic-js's ``truthy``: JavaScript truthiness, except that an empty array is false.

    >>> [truthy(v) for v in ([], {}, "0", "", 0, float("nan"), None, [0])]
    [False, True, True, False, False, False, False, True]
    """
    if value is True:
        return True
    if value is False or value is None or value is _UNDEFINED:
        return False
    kind = type(value)
    if kind is str or kind is list or kind is tuple:
        return len(value) > 0
    if kind is int:
        return bool(value != 0)
    if kind is float:
        return bool(value == value and value != 0.0)
    return True


def _js_truthy(value: Any) -> bool:
    """Plain JavaScript truthiness (``!!value``): an empty array is true."""
    return True if _is_array(value) else truthy(value)


def _int_to_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return _INF if value > 0 else -_INF


def _string_to_number(text: str) -> float:
    """JavaScript ``Number(text)``."""
    body = text.strip(_JS_WHITESPACE)
    if not body:
        return 0.0
    if _DECIMAL_LITERAL.fullmatch(body):
        return float(body.replace("Infinity", "inf"))
    if _NON_DECIMAL_LITERAL.fullmatch(body):
        base = {"x": 16, "o": 8, "b": 2}[body[1].lower()]
        return _int_to_float(int(body[2:], base))
    return _NAN


def _to_primitive(value: Any) -> Any:
    """JavaScript ``ToPrimitive`` for JSON values: arrays and objects become strings."""
    if type(value) is list or type(value) is tuple or type(value) is dict:
        return js_string(value)
    return value


def _to_number(value: Any) -> float:
    """JavaScript ``ToNumber``."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return _int_to_float(value) if abs(value) > _MAX_SAFE_INTEGER else float(value)
    if kind is bool:
        return 1.0 if value else 0.0
    if kind is str:
        return _string_to_number(value)
    if value is None:
        return 0.0
    if value is _UNDEFINED:
        return _NAN
    return _to_number(_to_primitive(value)) if _js_type(value) == "object" else _NAN


def js_number(value: Any) -> float:
    """JavaScript ``Number(value)`` for a JSON value.

    >>> [js_number(v) for v in ("12", " 0x1f ", "", None, True, [5], "abc")]
    [12.0, 31.0, 0.0, 0.0, 1.0, 5.0, nan]
    """
    return _to_number(value)


def _to_integer(value: Any) -> float:
    """JavaScript ``ToIntegerOrInfinity`` (kept as a float so infinities survive)."""
    number = _to_number(value)
    if number != number:
        return 0.0
    return number if math.isinf(number) else float(math.trunc(number))


def _number_to_string(number: float) -> str:
    """JavaScript ``Number.prototype.toString()``: shortest round-trip digits, JS exponent thresholds."""
    if number != number:
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)  # the decimal point sits after `point` digits
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    return sign + _place_decimal_point(digits, point)


def _place_decimal_point(digits: str, point: int) -> str:
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    exponent = point - 1
    mantissa = digits if count == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def js_string(value: Any) -> str:
    """JavaScript ``String(value)`` for a JSON value.

    >>> [js_string(v) for v in (1.0, 1e21, 0.1 + 0.2, -0.0, None, True, [1, None, [2, "a"]], {})]
    ['1', '1e+21', '0.30000000000000004', '0', 'null', 'true', '1,,2,a', '[object Object]']
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return _number_to_string(_to_number(value))
    if kind is list or kind is tuple:
        return ",".join("" if item is None or item is _UNDEFINED else js_string(item) for item in value)
    if kind is dict:
        return "[object Object]"
    return _js_type(value)  # "null" or "undefined"; raises on non-JSON values


def _parse_float(value: Any) -> float:
    """JavaScript ``parseFloat(value)``: the longest decimal prefix of ``String(value)``."""
    if type(value) is float or type(value) is int:
        number = _to_number(value)
        return 0.0 if number == 0 else number  # String(-0) is "0"
    match = _DECIMAL_LITERAL.match(js_string(value).lstrip(_JS_WHITESPACE))
    return float(match.group().replace("Infinity", "inf")) if match else _NAN


def _utf16_units(text: str) -> int:
    return len(text) + len(_ASTRAL.findall(text))


def _substring16(text: str, start: int, end: int) -> str:
    """``text`` sliced by UTF-16 code units, as JavaScript indexes strings."""
    if not _ASTRAL.search(text):
        return text[start:end]
    units = text.encode("utf-16-le", "surrogatepass")
    return units[2 * start : 2 * end].decode("utf-16-le", "surrogatepass")


# ---------------------------------------------------------------------------------------------------------
# JavaScript operators on values.


def _strict_equals(left: Any, right: Any) -> bool:
    """JavaScript ``===``: same type and value; objects by identity; ``NaN`` is not equal to itself."""
    kind = _js_type(left)
    if kind != _js_type(right):
        return False
    if kind == "number":
        return _to_number(left) == _to_number(right)
    if kind == "object":
        return left is right
    return bool(left == right)


def _loose_equals(left: Any, right: Any) -> bool:
    """JavaScript ``==`` (the abstract equality comparison) over JSON values."""
    left_type, right_type = type(left), type(right)
    if left_type is right_type and (left_type is str or left_type is bool):
        return bool(left == right)
    left_kind, right_kind = _js_type(left), _js_type(right)
    if left_kind == right_kind:
        return _strict_equals(left, right)
    nullish = ("null", "undefined")
    if left_kind in nullish or right_kind in nullish:
        return left_kind in nullish and right_kind in nullish
    if left_kind == "boolean" or right_kind == "boolean":
        return _loose_equals(
            _to_number(left) if left_kind == "boolean" else left,
            _to_number(right) if right_kind == "boolean" else right,
        )
    if left_kind == "object" or right_kind == "object":
        return _loose_equals(_to_primitive(left), _to_primitive(right))
    return _to_number(left) == _to_number(right)  # a number and a string


def _compare(left: Any, right: Any) -> float:
    """Order two values as JavaScript's relational operators do: <0, 0, >0, or NaN when unordered."""
    if (type(left) is int or type(left) is float) and (type(right) is int or type(right) is float):
        left, right = _to_number(left), _to_number(right)  # the common case: two numbers
        return _NAN if left != left or right != right else int(left > right) - int(left < right)
    left, right = _to_primitive(left), _to_primitive(right)
    if type(left) is str and type(right) is str:
        if not (left.isascii() and right.isascii()):
            left, right = left.encode("utf-16-be", "surrogatepass"), right.encode("utf-16-be", "surrogatepass")
        return int(left > right) - int(left < right)
    x, y = _to_number(left), _to_number(right)
    if x != x or y != y:
        return _NAN
    return (x > y) - (x < y)


def _less(left: Any, right: Any) -> bool:
    return _compare(left, right) < 0


def _less_equal(left: Any, right: Any) -> bool:
    return _compare(left, right) <= 0


def _divide(x: float, y: float) -> float:
    if y == 0:
        if x != x or x == 0:
            return _NAN
        return math.copysign(_INF, x) * math.copysign(1.0, y)
    return x / y


def _remainder(x: float, y: float) -> float:
    if y == 0 or x != x or y != y or math.isinf(x):
        return _NAN
    return x if math.isinf(y) else math.fmod(x, y)


def _js_plus(left: Any, right: Any) -> Any:
    """JavaScript binary ``+``: concatenation as soon as either primitive is a string."""
    left, right = _to_primitive(left), _to_primitive(right)
    if type(left) is str or type(right) is str:
        return js_string(left) + js_string(right)
    return _to_number(left) + _to_number(right)


def _number_out(number: float) -> int | float:
    """Present a JavaScript number to Python: integral values as ``int`` (``-0`` and huge ones stay floats)."""
    if number.is_integer() and abs(number) <= _MAX_SAFE_INTEGER and (number != 0 or math.copysign(1, number) > 0):
        return int(number)
    return number


def _get_property(value: Any, key: str) -> Any:
    """``value[key]`` for own data of JSON values; ``undefined`` when absent. ``null``/``undefined`` throw."""
    kind = type(value)
    if kind is dict:
        return value.get(key, _UNDEFINED)
    if kind is list or kind is tuple:
        if key == "length":
            return len(value)
        index = _array_index(key)
        return value[index] if index is not None and index < len(value) else _UNDEFINED
    if kind is str:
        size = _utf16_units(value)
        if key == "length":
            return size
        index = _array_index(key)
        return _substring16(value, index, index + 1) if index is not None and index < size else _UNDEFINED
    if value is None or value is _UNDEFINED:
        raise RuleError(f"cannot read property {key!r} of {js_string(value)}")
    _js_type(value)  # raises on non-JSON values
    return _UNDEFINED


def _array_index(key: str) -> int | None:
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return int(key)
    return None


# ---------------------------------------------------------------------------------------------------------
# The operations of json-logic-js 1.2.3 whose arguments are all evaluated first (``data`` is js's ``this``).


def _arg(values: Sequence[Any], index: int) -> Any:
    return values[index] if index < len(values) else _UNDEFINED


def _op_less(data: Any, values: Sequence[Any]) -> bool:
    a, b, c = _arg(values, 0), _arg(values, 1), _arg(values, 2)
    return _less(a, b) if c is _UNDEFINED else _less(a, b) and _less(b, c)


def _op_less_equal(data: Any, values: Sequence[Any]) -> bool:
    a, b, c = _arg(values, 0), _arg(values, 1), _arg(values, 2)
    return _less_equal(a, b) if c is _UNDEFINED else _less_equal(a, b) and _less_equal(b, c)


def _op_log(data: Any, values: Sequence[Any]) -> Any:
    value = _arg(values, 0)
    logger.info("json-logic log: %r", value)
    return value


def _op_in(data: Any, values: Sequence[Any]) -> bool:
    return _in(_arg(values, 0), _arg(values, 1))


def _in(needle: Any, haystack: Any) -> bool:
    """json-logic-js ``in``: substring of a string (the needle as a string), strict membership in an array."""
    if type(haystack) is str and type(needle) is str:
        return haystack != "" and needle in haystack  # "" is falsy: js answers false before searching
    if not _js_truthy(haystack):
        return False
    if type(haystack) is str:
        return js_string(needle) in haystack
    if _is_array(haystack):
        return any(_strict_equals(needle, item) for item in haystack)
    if type(haystack) is dict and "indexOf" in haystack:
        raise RuleError("b.indexOf is not a function", value=haystack)
    return False


def _op_cat(data: Any, values: Sequence[Any]) -> str:
    return "".join("" if v is None or v is _UNDEFINED else js_string(v) for v in values)


def _substr(text: str, start: Any, length: Any) -> str:
    """JavaScript ``String.prototype.substr(start, length)``."""
    size = _utf16_units(text)
    first = _to_integer(start)
    first = 0 if first == -_INF else max(size + first, 0) if first < 0 else min(first, size)
    count = size if length is _UNDEFINED else _to_integer(length)
    count = min(max(count, 0), size)
    return _substring16(text, int(first), int(min(first + count, size)))


def _op_substr(data: Any, values: Sequence[Any]) -> str:
    source, start, end = _arg(values, 0), _arg(values, 1), _arg(values, 2)
    if _less(end, 0):  # a negative end counts from the end of the string (PHP style)
        rest = _substr(js_string(source), start, _UNDEFINED)
        return _substr(rest, 0, _js_plus(_utf16_units(rest), end))
    return _substr(js_string(source), start, end)


def _op_plus(data: Any, values: Sequence[Any]) -> int | float:
    total = 0.0
    for value in values:
        total = _parse_float(total) + _parse_float(value)
    return _number_out(total)


def _op_times(data: Any, values: Sequence[Any]) -> Any:
    if not values:
        raise RuleError("Reduce of empty array with no initial value", path=("*",))
    product = values[0]  # a single argument is returned unconverted, as js's reduce does
    for value in values[1:]:
        product = _number_out(_parse_float(product) * _parse_float(value))
    return product


def _op_minus(data: Any, values: Sequence[Any]) -> int | float:
    a, b = _arg(values, 0), _arg(values, 1)
    if b is _UNDEFINED:
        return _number_out(-_to_number(a))
    return _number_out(_to_number(a) - _to_number(b))


def _op_divide(data: Any, values: Sequence[Any]) -> int | float:
    return _number_out(_divide(_to_number(_arg(values, 0)), _to_number(_arg(values, 1))))


def _op_remainder(data: Any, values: Sequence[Any]) -> int | float:
    return _number_out(_remainder(_to_number(_arg(values, 0)), _to_number(_arg(values, 1))))


def _extremum(values: Sequence[Any], sign: float) -> int | float:
    """``Math.max`` (sign 1) or ``Math.min`` (sign -1): NaN wins, ``+0`` beats ``-0`` for max."""
    best = -sign * _INF
    for number in [_to_number(v) for v in values]:
        if number != number:
            return _NAN
        if sign * number > sign * best or (number == 0 == best and math.copysign(1, number) == sign):
            best = number
    return _number_out(best)


def _op_max(data: Any, values: Sequence[Any]) -> int | float:
    return _extremum(values, 1.0)


def _op_min(data: Any, values: Sequence[Any]) -> int | float:
    return _extremum(values, -1.0)


def _op_merge(data: Any, values: Sequence[Any]) -> list[Any]:
    merged: list[Any] = []
    for value in values:
        if _is_array(value):
            merged.extend(value)
        else:
            merged.append(value)
    return merged


def _lookup(data: Any, keys: Sequence[str], not_found: Any) -> Any:
    """Walk ``data`` along ``keys`` as json-logic-js's ``var`` does."""
    for key in keys:
        if data is None or data is _UNDEFINED:
            return not_found
        data = data.get(key, _UNDEFINED) if type(data) is dict else _get_property(data, key)
        if data is _UNDEFINED:
            return not_found
    return data


def _var(data: Any, name: Any, default: Any) -> Any:
    not_found = None if default is _UNDEFINED else default
    if name is _UNDEFINED or name is None or (name == "" and type(name) is str):
        return data
    return _lookup(data, js_string(name).split("."), not_found)


def _op_var(data: Any, values: Sequence[Any]) -> Any:
    return _var(data, _arg(values, 0), _arg(values, 1))


def _op_missing(data: Any, values: Sequence[Any]) -> list[Any]:
    keys = values[0] if values and _is_array(values[0]) else values
    missing = []
    for key in keys:
        if type(key) in (str, int, float, bool) or key is None:
            value = _var(data, key, _UNDEFINED)
        else:  # js re-evaluates {"var": key}; the key itself may be an array or a rule
            value = _compile({"var": key}, ())(data)
        if value is None or (type(value) is str and value == ""):
            missing.append(key)
    return missing


def _op_missing_some(data: Any, values: Sequence[Any]) -> list[Any]:
    need, options = _arg(values, 0), _arg(values, 1)
    missing = _compile({"missing": options}, ())(data)  # js re-applies the evaluated options as a rule
    present = _to_number(_get_property(options, "length")) - len(missing)
    return [] if _compare(present, need) >= 0 else missing


def _simple(operation: Callable[[Any, Any], Any]) -> Callable[[Any, Sequence[Any]], Any]:
    """Lift a two-argument JavaScript operator into an operation."""

    def run(data: Any, values: Sequence[Any]) -> Any:
        return operation(_arg(values, 0), _arg(values, 1))

    return run


_OPERATIONS: Final[dict[str, Callable[[Any, Sequence[Any]], Any]]] = {
    "==": _simple(_loose_equals),
    "===": _simple(_strict_equals),
    "!=": _simple(lambda a, b: not _loose_equals(a, b)),
    "!==": _simple(lambda a, b: not _strict_equals(a, b)),
    ">": _simple(lambda a, b: _less(b, a)),
    ">=": _simple(lambda a, b: _less_equal(b, a)),
    "<": _op_less,
    "<=": _op_less_equal,
    "!!": _simple(lambda a, _: truthy(a)),
    "!": _simple(lambda a, _: not truthy(a)),
    "%": _op_remainder,
    "log": _op_log,
    "in": _op_in,
    "cat": _op_cat,
    "substr": _op_substr,
    "+": _op_plus,
    "*": _op_times,
    "-": _op_minus,
    "/": _op_divide,
    "min": _op_min,
    "max": _op_max,
    "merge": _op_merge,
    "var": _op_var,
    "missing": _op_missing,
    "missing_some": _op_missing_some,
}
_SPECIAL_FORMS: Final = frozenset({"if", "?:", "and", "or", "filter", "map", "reduce", "all", "none", "some"})

#: Every operator the evaluator accepts (json-logic-js 1.2.3 without ``method``).
OPERATORS: Final[frozenset[str]] = frozenset(_OPERATIONS) | _SPECIAL_FORMS

# ---------------------------------------------------------------------------------------------------------
# The compiler: rule -> closures.

_Path = tuple[PathPart, ...]


def compile_rule(rule: Any) -> Evaluator:
    """Compile ``rule`` once; the result evaluates it on a data object like json-logic-js's ``apply``.

    Raises :class:`RuleError` for ``method``, unknown operators, values that are not JSON and rules nested deeper
    than :data:`~querylang.limits.MAX_DEPTH` levels. Evaluation raises
    :class:`RuleError` where json-logic-js throws (e.g. ``{"*": []}``, ``{"all": [null, ...]}``).

    >>> rule = compile_rule({"and": [{">=": [{"var": "run.oms.energy"}, 6000]}, {"var": "run.rr.significant"}]})
    >>> rule({"run": {"oms": {"energy": 6500}, "rr": {"significant": True}}})
    True
    >>> rule({"run": {"oms": {"energy": "6500"}, "rr": {}}}) is None   # the deciding value: a missing var
    True
    """
    evaluate = _compile_guarded(rule)

    def evaluate_exported(data: Any = None) -> Any:
        try:
            return _export(evaluate(data))
        except RecursionError:
            raise RuleError("data nested too deeply to evaluate") from None

    return evaluate_exported


def compile_predicate(rule: Any) -> Callable[[Any], bool]:
    """Compile ``rule`` into a yes/no test (json-logic truthiness of its value), as golden JSONs use it.

    >>> keep = compile_predicate({"in": ["25ns", {"var": "scheme"}]})
    >>> keep({"scheme": "25ns_2556b"}), keep({"scheme": None})
    (True, False)
    """
    evaluate = _compile_guarded(rule)

    def test(data: Any) -> bool:
        try:
            return truthy(evaluate(data))
        except RecursionError:
            raise RuleError("data nested too deeply to evaluate") from None

    return test


def apply(rule: Any, data: Any = None) -> Any:
    """Evaluate ``rule`` on ``data`` (json-logic-js ``jsonLogic.apply``); compile once with :func:`compile_rule`.

    >>> apply({"if": [{"<": [{"var": "x"}, 0]}, "negative", "non-negative"]}, {"x": -3})
    'negative'
    >>> apply({"and": []}) is None            # js returns undefined
    True
    """
    return compile_rule(rule)(data)


def _compile_guarded(rule: Any) -> Evaluator:
    check_nesting(rule, RuleError)
    try:
        return _compile(rule, ())
    except RecursionError:
        raise RuleError("rule nested too deeply to compile") from None


def _export(value: Any) -> Any:
    """Replace the private ``undefined`` the way ``JSON.stringify`` does (``None``; dropped object keys)."""
    if value is _UNDEFINED:
        return None
    if _is_array(value) and any(item is _UNDEFINED or _is_array(item) or type(item) is dict for item in value):
        return [_export(item) for item in value]
    if type(value) is dict and any(
        item is _UNDEFINED or _is_array(item) or type(item) is dict for item in value.values()
    ):
        return {key: _export(item) for key, item in value.items() if item is not _UNDEFINED}
    return value


def _constant(value: Any) -> Evaluator:
    return lambda data: value


def _compile(node: Any, path: _Path) -> Evaluator:
    if _is_array(node):
        items = [_compile(item, (*path, index)) for index, item in enumerate(node)]
        return lambda data: [item(data) for item in items]
    if type(node) is dict and len(node) == 1:
        ((operator, raw),) = node.items()
        return _compile_operation(operator, raw, path)
    check_json(node, RuleError, path)
    return _constant(node)


def _compile_operation(operator: Any, raw: Any, path: _Path) -> Evaluator:
    if type(operator) is not str:
        raise RuleError("an operator must be a string", path=path, value=operator)
    if operator == "method":
        raise RuleError(
            "the operator 'method' is not supported: it runs arbitrary code (json-logic-js 2.0 removed it)",
            path=(*path, operator),
        )
    args = list(raw) if _is_array(raw) else [raw]
    arg_paths = [(*path, operator, i) for i in range(len(args))] if _is_array(raw) else [(*path, operator)]
    if operator in _SPECIAL_FORMS:
        return _SPECIAL_COMPILERS[operator](args, arg_paths, raw)
    operation = _OPERATIONS.get(operator)
    if operation is None:
        raise RuleError(
            "unrecognized operation",
            path=(*path, operator),
            value=operator,
            suggestions=Catalogue.suggest(operator, OPERATORS),
        )
    if operator == "var" and args and _is_scalar(args[0]):
        return _compile_var(args, arg_paths)
    evaluators = [_compile(arg, arg_path) for arg, arg_path in zip(args, arg_paths, strict=True)]
    if operator in _BINARY and len(args) == 2:
        return _binary(_BINARY[operator], evaluators[0], evaluators[1], args[1])
    return _call(operation, evaluators)


def _binary(function: Callable[[Any, Any], Any], first: Evaluator, second: Evaluator, raw: Any) -> Evaluator:
    """A two-argument operator as one closure (the right operand inlined when it is a literal scalar)."""
    if _is_scalar(raw):
        return lambda data: function(first(data), raw)
    return lambda data: function(first(data), second(data))


_BINARY: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "==": _loose_equals,
    "===": _strict_equals,
    "!=": lambda a, b: not _loose_equals(a, b),
    "!==": lambda a, b: not _strict_equals(a, b),
    "<": _less,
    "<=": _less_equal,
    ">": lambda a, b: _less(b, a),
    ">=": lambda a, b: _less_equal(b, a),
    "in": _in,
}


def _is_scalar(value: Any) -> bool:
    return value is None or type(value) in (bool, int, float, str)


def _call(operation: Callable[[Any, Sequence[Any]], Any], evaluators: list[Evaluator]) -> Evaluator:
    if len(evaluators) == 2:
        first, second = evaluators
        return lambda data: operation(data, (first(data), second(data)))
    if len(evaluators) == 1:
        (only,) = evaluators
        return lambda data: operation(data, (only(data),))
    return lambda data: operation(data, [evaluate(data) for evaluate in evaluators])


def _compile_var(args: list[Any], arg_paths: list[_Path]) -> Evaluator:
    """``var`` with a literal name: split the dotted path once, at compile time."""
    name = args[0]
    default = _compile(args[1], arg_paths[1]) if len(args) > 1 else _constant(_UNDEFINED)
    extra = [_compile(arg, arg_path) for arg, arg_path in zip(args[2:], arg_paths[2:], strict=True)]
    if extra:  # evaluated (and ignored) by js; keep any error they raise
        return _call(_op_var, [_constant(name), default, *extra])
    if name is None or (name == "" and type(name) is str):
        return lambda data: (default(data), data)[1]
    keys = tuple(js_string(name).split("."))
    if len(args) == 1:
        return _lookup_three(keys) if len(keys) == 3 else lambda data: _lookup(data, keys, None)

    def lookup_with_default(data: Any) -> Any:
        fallback = default(data)
        return _lookup(data, keys, None if fallback is _UNDEFINED else fallback)

    return lookup_with_default


def _lookup_three(keys: tuple[str, ...]) -> Evaluator:
    """``var`` of a three-part name (the golden-JSON namespace) without a default, unrolled for objects."""
    first, second, third = keys

    def lookup(data: Any) -> Any:
        if type(data) is dict:
            value = data.get(first)
            if type(value) is dict:
                value = value.get(second)
                if type(value) is dict:
                    return value.get(third)
        return _lookup(data, keys, None)  # arrays, strings, null on the way: the general walk

    return lookup


# -- special forms: their arguments are evaluated lazily ------------------------------------------------------

_SpecialCompiler = Callable[[list[Any], list[_Path], Any], Evaluator]


def _compile_args(args: list[Any], arg_paths: list[_Path]) -> list[Evaluator]:
    return [_compile(arg, arg_path) for arg, arg_path in zip(args, arg_paths, strict=True)]


def _compile_if(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    evaluators = _compile_args(args, arg_paths)
    pairs = [(evaluators[i], evaluators[i + 1]) for i in range(0, len(evaluators) - 1, 2)]
    otherwise = evaluators[-1] if len(evaluators) % 2 == 1 else _constant(None)

    def choose(data: Any) -> Any:
        for condition, consequence in pairs:
            if truthy(condition(data)):
                return consequence(data)
        return otherwise(data)

    return choose


def _compile_and(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    evaluators = _compile_args(args, arg_paths)

    def first_falsy(data: Any) -> Any:
        current: Any = _UNDEFINED
        for evaluate in evaluators:
            current = evaluate(data)
            if not truthy(current):
                return current
        return current

    return first_falsy


def _compile_or(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    evaluators = _compile_args(args, arg_paths)

    def first_truthy(data: Any) -> Any:
        current: Any = _UNDEFINED
        for evaluate in evaluators:
            current = evaluate(data)
            if truthy(current):
                return current
        return current

    return first_truthy


def _scoped(args: list[Any], arg_paths: list[_Path]) -> tuple[Evaluator, Evaluator]:
    """The collection and the per-item logic of map/filter/reduce/all/none/some (absent ones are undefined)."""
    evaluators = _compile_args(args[:2], arg_paths[:2])
    while len(evaluators) < 2:
        evaluators.append(_constant(_UNDEFINED))
    return evaluators[0], evaluators[1]


def _compile_filter(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    collection, logic = _scoped(args, arg_paths)

    def keep(data: Any) -> list[Any]:
        items = collection(data)
        return [item for item in items if truthy(logic(item))] if _is_array(items) else []

    return keep


def _compile_map(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    collection, logic = _scoped(args, arg_paths)

    def transform(data: Any) -> list[Any]:
        items = collection(data)
        return [logic(item) for item in items] if _is_array(items) else []

    return transform


def _compile_reduce(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    collection, logic = _scoped(args, arg_paths)
    initial = args[2] if len(args) > 2 else None  # js passes the third argument unevaluated
    if len(args) > 2:
        check_json(initial, RuleError, arg_paths[2])

    def fold(data: Any) -> Any:
        items = collection(data)
        if not _is_array(items):
            return initial
        accumulator = initial
        for item in items:
            accumulator = logic({"current": item, "accumulator": accumulator})
        return accumulator

    return fold


def _items(value: Any) -> list[Any]:
    """The elements ``all`` iterates: ``value[0..value.length)``, for any value with a length."""
    if _is_array(value):
        return list(value)
    length = _get_property(value, "length")
    items, index = [], 0
    while _less(index, length):
        items.append(_get_property(value, str(index)))
        index += 1
    return items


def _compile_all(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    collection, logic = _scoped(args, arg_paths)

    def every(data: Any) -> bool:
        items = collection(data)
        if not _js_truthy(_get_property(items, "length")):
            return False
        return all(truthy(logic(item)) for item in _items(items))

    return every


def _compile_none(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    kept = _compile_filter(args, arg_paths, raw)
    return lambda data: len(kept(data)) == 0


def _compile_some(args: list[Any], arg_paths: list[_Path], raw: Any) -> Evaluator:
    kept = _compile_filter(args, arg_paths, raw)
    return lambda data: len(kept(data)) > 0


_SPECIAL_COMPILERS: Final[dict[str, _SpecialCompiler]] = {
    "if": _compile_if,
    "?:": _compile_if,
    "and": _compile_and,
    "or": _compile_or,
    "filter": _compile_filter,
    "map": _compile_map,
    "reduce": _compile_reduce,
    "all": _compile_all,
    "none": _compile_none,
    "some": _compile_some,
}
