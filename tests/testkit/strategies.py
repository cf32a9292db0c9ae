"""Hypothesis strategies shared by several test packages.

``json_logic_rules(st.sampled_from(ATOMS), max_leaves=5, max_clauses=4)`` draws rules such as
``{"and": [{"!": ATOM}, {"or": [ATOM, ATOM]}]}``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["json_logic_clauses", "json_logic_rules"]


def json_logic_clauses(leaves: st.SearchStrategy[Any], *, max_leaves: int) -> st.SearchStrategy[Any]:
    """json-logic trees over ``leaves`` combined by ``and``/``or`` (one to three arguments), ``!`` and ``if``."""

    def combine(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        arguments = st.lists(inner, min_size=1, max_size=3)
        return st.one_of(
            st.builds(lambda xs: {"and": xs}, arguments),
            st.builds(lambda xs: {"or": xs}, arguments),
            st.builds(lambda x: {"!": x}, inner),
            st.builds(lambda c, a, b: {"if": [c, a, b]}, inner, inner, inner),
        )

    return st.recursive(leaves, combine, max_leaves=max_leaves)


def json_logic_rules(leaves: st.SearchStrategy[Any], *, max_leaves: int, max_clauses: int) -> st.SearchStrategy[Any]:
    """A clause of :func:`json_logic_clauses`, or a top-level ``and`` of up to ``max_clauses`` of them (a
    good-run-list rule's usual shape)."""
    clause = json_logic_clauses(leaves, max_leaves=max_leaves)
    return st.one_of(clause, st.builds(lambda xs: {"and": xs}, st.lists(clause, min_size=1, max_size=max_clauses)))
