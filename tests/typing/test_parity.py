"""``RunRegistry`` and ``AsyncRunRegistry`` offer the same calls with the same signatures and overloads (the
async ones awaitable), so the two copies of the overload stubs cannot drift apart."""

from __future__ import annotations

import inspect

import pytest
from typing_extensions import get_overloads

from client import AsyncRunRegistry, RunRegistry

_LIFECYCLE = {"close", "aclose"}
#: Parameters only the sync client has: an async job is cancelled by cancelling its task.
_SYNC_ONLY = {"create_json": {"cancel"}}


def _calls(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, callable) if not name.startswith("_")} - _LIFECYCLE


def test_both_clients_offer_the_same_calls() -> None:
    assert _calls(RunRegistry) == _calls(AsyncRunRegistry)


@pytest.mark.parametrize("name", sorted(_calls(RunRegistry)))
def test_each_call_has_the_same_signature_and_overloads(name: str) -> None:
    sync, asynchronous = getattr(RunRegistry, name), getattr(AsyncRunRegistry, name)
    signature = inspect.signature(sync)
    kept = [p for p in signature.parameters.values() if p.name not in _SYNC_ONLY.get(name, set())]
    assert signature.replace(parameters=kept) == inspect.signature(asynchronous)
    sync_overloads = [inspect.signature(f) for f in get_overloads(sync)]
    assert sync_overloads == [inspect.signature(f) for f in get_overloads(asynchronous)]
    single_type = ("get_dataset_names_of_run", "get_cycles", "get_datasets_accepted", "get_lumisection_json")
    if name.startswith("get_") and name not in single_type:
        assert sync_overloads, f"{name} has no overloads"
    is_write = "Reported" in str(inspect.signature(sync).return_annotation)
    assert is_write or inspect.iscoroutinefunction(asynchronous), f"AsyncRunRegistry.{name} is not async"
