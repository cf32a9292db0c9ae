"""Good-run-list rules: parse a json-logic rule into checked nodes, then plan its evaluation.

The public entry point of three modules: :mod:`querylang.rule_ast` (the rule's nodes and the golden-JSON
namespace of its variables), :mod:`querylang.rule_checks` (:func:`parse_rule`: variables, operators and literal
types checked before anything is sent) and :mod:`querylang.rule_plan` (:func:`plan_rule`: the run-level part
pushed down to the service as filter nodes, the lumisection-level residual evaluated locally).

>>> plan = plan_rule({"and": [{"var": "run.rr.significant"}, {"==": [{"var": "lumisection.rr.dt-dt"}, "GOOD"]}]})
>>> [(clause.index, clause.level) for clause in plan.clauses]
[(0, 'run'), (1, 'lumisection')]
"""

from querylang.rule_ast import (
    ArrayNode,
    Literal,
    Operation,
    RuleNode,
    Scope,
    Variable,
    namespace,
    rule_variables,
    walk,
)
from querylang.rule_checks import parse_rule
from querylang.rule_plan import Clause, Level, RulePlan, plan_rule

__all__ = [
    "ArrayNode",
    "Clause",
    "Level",
    "Literal",
    "Operation",
    "RuleNode",
    "RulePlan",
    "Scope",
    "Variable",
    "namespace",
    "parse_rule",
    "plan_rule",
    "rule_variables",
    "walk",
]
