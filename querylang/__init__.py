"""querylang: the pure (no I/O) query language of runql.

The typed attribute catalogue, the filter AST with its parser/validator, the compiler to the Run Registry
backend's filter grammar, and json-logic good-run-list rules.
"""

from querylang.catalogue import Attribute, AttrType, Catalogue, Owner, StatusFlag, default_catalogue
from querylang.errors import FilterError, QueryLangError, RuleError

__all__ = [
    "AttrType",
    "Attribute",
    "Catalogue",
    "FilterError",
    "Owner",
    "QueryLangError",
    "RuleError",
    "StatusFlag",
    "default_catalogue",
]
