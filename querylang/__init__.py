"""querylang: the pure (no I/O) query language of runql.

The typed attribute catalogue, the filter AST with its parser/validator, the compiler to the Run Registry
backend's filter grammar, and json-logic good-run-list rules (``querylang.jsonlogic`` evaluates them with
json-logic-js 1.2.3 semantics; ``querylang.rules`` checks and plans them; ``querylang.segments`` evaluates a plan
on constant lumisection segments).

>>> from querylang import compile_filter
>>> compile_filter({"run_number": {">": 309000, "<": 310000}, "dt-dt": "GOOD"}).filters
({'run_number': {'>': 309000, '<': 310000}, 'triplet_summary.dt-dt.GOOD': {'>': 0}},)
"""

from querylang.ast import And, Comparison, Membership, Node, Not, Or, StatusTest
from querylang.catalogue import Attribute, AttrType, Catalogue, Owner, StatusFlag, default_catalogue
from querylang.compile import QuirkWarning, compile_filter, compile_node, raw_plan
from querylang.dials import DialsPlan, DialsRequest, compile_dials, explain_dials
from querylang.dials_catalogue import DIALS_RESOURCES, DialsField, DialsResource, dials_resource
from querylang.errors import ArgumentError, ArgumentTypeError, FilterError, QueryLangError, RuleError, RunQLError
from querylang.explain import Explanation, explain, explain_plan
from querylang.parse import UnknownFlagWarning, parse_filter
from querylang.plan import Plan
from querylang.reference import reference_rule
from querylang.rules import RulePlan, parse_rule, plan_rule
from querylang.similar import SimilarPattern, compile_similar

__all__ = [
    "DIALS_RESOURCES",
    "And",
    "ArgumentError",
    "ArgumentTypeError",
    "AttrType",
    "Attribute",
    "Catalogue",
    "Comparison",
    "DialsField",
    "DialsPlan",
    "DialsRequest",
    "DialsResource",
    "Explanation",
    "FilterError",
    "Membership",
    "Node",
    "Not",
    "Or",
    "Owner",
    "Plan",
    "QueryLangError",
    "QuirkWarning",
    "RuleError",
    "RulePlan",
    "RunQLError",
    "SimilarPattern",
    "StatusFlag",
    "StatusTest",
    "UnknownFlagWarning",
    "compile_dials",
    "compile_filter",
    "compile_node",
    "compile_similar",
    "default_catalogue",
    "dials_resource",
    "explain",
    "explain_dials",
    "explain_plan",
    "parse_filter",
    "parse_rule",
    "plan_rule",
    "raw_plan",
    "reference_rule",
]
