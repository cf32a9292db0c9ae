"""Writes (``rr-protocol.md`` §9) with the service's rules, each in one transaction (a refused write changes nothing).

Rules enforced: run moves need the run in the ``from`` state; signing off (to SIGNOFF or COMPLETED) needs a class
and no EMPTY / NO VALUE FOUND lumisection in the certifiable online components, and OPEN → SIGNOFF creates the
run's PromptReco dataset in state "waiting dqm gui" (with no statuses yet); ``mark_significant`` needs an OPEN,
not yet significant run and gives it NOTSET statuses for every certifiable online component; class and
lumisection edits need an OPEN run (an OPEN dataset for offline datasets); BAD needs a comment of 3+ characters;
dataset moves check the workspace state, and signing off a dataset's ``global`` workspace applies the EMPTY
check to the certifiable offline components. ``refresh_run`` only bumps the version (the demo's OMS data never
changes); ``reset_and_refresh_run`` also clears the RR attributes ``stop_reason`` and
``run_needs_to_be_updated_manually`` of an OPEN run.

Each function returns the object the route answers with, read after the transaction committed; a lumisection
edit answers the stored lumisection event row ``{"version", "run_number", "name", "lumisection_metadata_id",
"manual_change"}``, like the service.

``lax=True`` (``--rr-quirks``) reproduces how the real service is laxer (``rr-protocol.md`` §10): the ``from``
state of run and dataset moves is not checked; a lumisection edit accepts an unknown component (it then appears
in the triplet summary) and a range past the run's last lumisection (the dataset then has that many RR
lumisections); ``mark_significant`` commits, then answers 500 (the refresh that follows failed).
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from backend.eras import prompt_dataset
from backend.errors import RequestError, request_int
from backend.lumiranges import EMPTY, StatusRange, overlay
from backend.rows import dumps
from backend.store import DatasetLumis, Store, Transaction
from querylang.catalogue import DATASET_STATES, LUMISECTION_STATUSES, RUN_STATES, default_catalogue

__all__ = [
    "edit_class",
    "edit_lumisections",
    "mark_significant",
    "move_dataset",
    "move_run",
    "refresh_run",
]

_WAITING = "waiting dqm gui"
_CLASS_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
_BLOCKING = (EMPTY, "NO VALUE FOUND")
#: How far past a run's end a lax edit may reach (the stand-in keeps lumisections in memory per request).
_LAX_LAST_LUMISECTION = 100_000


def _int_field(body: object, key: str) -> int:
    return request_int(body.get(key) if isinstance(body, dict) else None, key)


def _str_field(body: object, key: str, default: str | None = None) -> str:
    value = body.get(key, default) if isinstance(body, dict) else default
    if not isinstance(value, str):
        raise RequestError(f"{key} must be a string, got {value!r}")
    return value


def _run_rr(tx: Transaction, run_number: int) -> tuple[int, dict[str, Any]]:
    run = tx.run(run_number)
    if run is None:
        raise RequestError(f"run {run_number} does not exist")
    return run


def _require_open(run_number: int, rr: dict[str, Any]) -> None:
    if rr.get("state") != "OPEN":
        raise RequestError(f"run {run_number} is {rr.get('state')}; only OPEN runs can be edited")


def _blocking_components(lumis: DatasetLumis | None, components: list[str], lumisections: int) -> list[str]:
    """Components with an EMPTY (uncovered) or NO VALUE FOUND lumisection."""
    statuses = lumis.statuses if lumis else {}
    bad = []
    for name in components:
        ranges = statuses.get(name, [])
        covered = sum(r.length for r in ranges)
        if covered < lumisections or any(r.status in _BLOCKING for r in ranges):
            bad.append(name)
    return bad


def _check_states(from_state: str, to_state: str, allowed: tuple[str, ...]) -> None:
    for state in (from_state, to_state):
        if state not in allowed:
            raise RequestError(f"unknown state {state!r}; allowed: {', '.join(allowed)}")
    if from_state == to_state:
        raise RequestError(f"cannot move from {from_state} to itself")


# -- runs -----------------------------------------------------------------------------------------------------
def move_run(store: Store, from_state: str, to_state: str, body: object, *, lax: bool = False) -> str:
    """``POST /runs/move_run/:from/:to {run_number}``."""
    _check_states(from_state, to_state, RUN_STATES)
    run_number = _int_field(body, "run_number")
    with store.transaction() as tx:
        lumisections, rr = _run_rr(tx, run_number)
        if not lax and rr.get("state") != from_state:
            raise RequestError(f"run {run_number} is {rr.get('state')}, not {from_state}")
        if to_state in ("SIGNOFF", "COMPLETED"):
            _check_sign_off(tx, run_number, rr, lumisections)
        if from_state == "OPEN" and to_state == "SIGNOFF":
            _create_offline_dataset(tx, run_number, rr, lumisections)
        tx.save_run(run_number, {**rr, "state": to_state})
    return store.run_json(run_number)


def _check_sign_off(tx: Transaction, run_number: int, rr: dict[str, Any], lumisections: int) -> None:
    if not rr.get("class"):
        raise RequestError(f"run {run_number} has no class; set one before signing it off")
    components = [f.name for f in default_catalogue().certifiable(online=True)]
    online = tx.dataset_lumis(run_number, "online")
    bad = _blocking_components(online, components, lumisections)
    if bad:
        raise RequestError(
            f"run {run_number} cannot be signed off: EMPTY or NO VALUE FOUND lumisections in {', '.join(bad)}"
        )


def _create_offline_dataset(tx: Transaction, run_number: int, rr: dict[str, Any], lumisections: int) -> None:
    name = prompt_dataset(run_number, str(rr.get("class")))
    if tx.has_dataset(run_number, name):
        return
    attributes: dict[str, Any] = dict.fromkeys(_offline_state_attributes(), _WAITING)
    attributes["appeared_in"] = ""
    tx.insert_dataset(run_number, name, attributes, {}, lumisections)


def _offline_state_attributes() -> list[str]:
    return sorted(a.name for a in default_catalogue().attributes() if a.name.endswith("_state"))


def mark_significant(store: Store, body: object, *, lax: bool = False) -> str:
    """``POST /runs/mark_significant {run_number}`` (``lax``: 500 after the change is committed)."""
    run_number = _int_field(body, "run_number")
    with store.transaction() as tx:
        lumisections, rr = _run_rr(tx, run_number)
        _require_open(run_number, rr)
        if rr.get("significant"):
            raise RequestError(f"run {run_number} is already significant")
        online = tx.dataset_lumis(run_number, "online")
        if online is not None and not online.statuses:
            notset = [StatusRange(1, lumisections, "NOTSET")]
            tx.replace_statuses(online, {f.name: notset for f in default_catalogue().certifiable(online=True)})
        tx.save_run(run_number, {**rr, "significant": True})
    if lax:
        raise RequestError(f"Error refreshing run {run_number} after marking it significant")
    return store.run_json(run_number)


def refresh_run(store: Store, run_number: int, *, reset: bool) -> str:
    """``POST /runs/refresh_run/:n`` and (``reset=True``) ``/runs/reset_and_refresh_run/:n``."""
    with store.transaction() as tx:
        _, rr = _run_rr(tx, run_number)
        if reset:
            _require_open(run_number, rr)
            rr = {**rr, "stop_reason": None, "run_needs_to_be_updated_manually": False}
        tx.save_run(run_number, rr)
    return store.run_json(run_number)


def edit_class(store: Store, run_number: int, body: object) -> str:
    """``PUT /manual_run_edit/:n/class {"class": c}``."""
    new_class = _str_field(body, "class")
    if not _CLASS_RE.fullmatch(new_class):
        raise RequestError(f"invalid class {new_class!r}: 1 to 64 letters, digits or underscores")
    with store.transaction() as tx:
        _, rr = _run_rr(tx, run_number)
        _require_open(run_number, rr)
        tx.save_run(run_number, {**rr, "class": new_class})
    return store.run_json(run_number)


# -- lumisections -------------------------------------------------------------------------------------------
def _new_range(body: object, lumisections: int, *, lax: bool) -> StatusRange:
    spec = body.get("new_lumisection_range") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise RequestError("new_lumisection_range must be an object with start, end, status, comment, cause")
    start, end = _int_field(spec, "start"), _int_field(spec, "end")
    status = _str_field(spec, "status")
    comment, cause = _str_field(spec, "comment", ""), _str_field(spec, "cause", "")
    if not 1 <= start <= end or end > (_LAX_LAST_LUMISECTION if lax else lumisections):
        raise RequestError(f"invalid range {start}..{end}: the run has lumisections 1..{lumisections}")
    if status not in LUMISECTION_STATUSES:
        raise RequestError(f"invalid status {status!r}; allowed: {', '.join(LUMISECTION_STATUSES)}")
    if status == "BAD" and len(comment.strip()) < 3:
        raise RequestError("a BAD lumisection range needs a comment of at least 3 characters")
    return StatusRange(start, end, status, comment, cause)


def _component(name: str, online: bool, *, lax: bool) -> str:
    try:
        flag = default_catalogue().status_flag(name)
    except KeyError:
        if lax:
            return name
        raise RequestError(f"unknown component {name!r}") from None
    if not (flag.online if online else flag.offline) and not lax:
        raise RequestError(f"component {name!r} does not exist in {'online' if online else 'offline'} datasets")
    return flag.name


def edit_lumisections(store: Store, body: object, *, lax: bool = False) -> dict[str, Any]:
    """``PUT /lumisections/edit_rr_lumisections``: overlay one range on one component; answers the stored
    lumisection event row."""
    run_number = _int_field(body, "run_number")
    dataset_name = _str_field(body, "dataset_name")
    component = _component(_str_field(body, "component"), online=dataset_name == "online", lax=lax)
    with store.transaction() as tx:
        _, rr = _run_rr(tx, run_number)
        lumis = tx.dataset_lumis(run_number, dataset_name)
        if lumis is None:
            raise RequestError(f"dataset {dataset_name!r} of run {run_number} does not exist")
        if dataset_name == "online":
            _require_open(run_number, rr)
        else:
            _require_open_dataset(tx, lumis)
        new = _new_range(body, lumis.lumisections, lax=lax)
        ranges = overlay(lumis.statuses.get(component, []), new)
        tx.replace_statuses(lumis, {component: ranges}, lumisections=max(lumis.lumisections, new.end))
        version = tx.next_event_version()
    metadata = dumps({component: {"status": new.status, "comment": new.comment, "cause": new.cause}})
    return {
        "version": version,
        "run_number": run_number,
        "name": dataset_name,
        "lumisection_metadata_id": zlib.crc32(metadata.encode()),
        "manual_change": True,
    }


def _require_open_dataset(tx: Transaction, lumis: DatasetLumis) -> None:
    dataset = tx.dataset(lumis.run_number, lumis.name)
    state = dataset[1].get("global_state") if dataset else None
    if state != "OPEN":
        raise RequestError(
            f"dataset {lumis.name!r} of run {lumis.run_number} is {state}; only OPEN datasets can be edited"
        )


# -- datasets -----------------------------------------------------------------------------------------------
def move_dataset(
    store: Store, workspace: str, from_state: str, to_state: str, body: object, *, lax: bool = False
) -> str:
    """``POST /datasets/:workspace/move_dataset/:from/:to {run_number, dataset_name, workspace}``."""
    _check_states(from_state, to_state, DATASET_STATES)
    if to_state == _WAITING:
        raise RequestError(f"datasets cannot be moved back to {_WAITING!r}")
    attribute = f"{workspace}_state"
    if attribute not in _offline_state_attributes():
        raise RequestError(f"unknown workspace {workspace!r}")
    if isinstance(body, dict) and body.get("workspace", workspace) != workspace:
        raise RequestError(f"workspace in the body ({body.get('workspace')!r}) differs from the URL ({workspace!r})")
    run_number, name = _int_field(body, "run_number"), _str_field(body, "dataset_name")
    if name == "online":
        raise RequestError("the online dataset moves with its run (use /runs/move_run)")
    with store.transaction() as tx:
        lumisections, _ = _run_rr(tx, run_number)
        dataset = tx.dataset(run_number, name)
        if dataset is None:
            raise RequestError(f"dataset {name!r} of run {run_number} does not exist")
        dataset_id, attributes = dataset
        if not lax and attributes.get(attribute) != from_state:
            raise RequestError(f"dataset {name!r} of run {run_number} is {attributes.get(attribute)} in {workspace}")
        if workspace == "global" and to_state in ("SIGNOFF", "COMPLETED"):
            components = [f.name for f in default_catalogue().certifiable(online=False)]
            bad = _blocking_components(tx.dataset_lumis(run_number, name), components, lumisections)
            if bad:
                raise RequestError(f"dataset cannot be signed off: EMPTY or NO VALUE FOUND in {', '.join(bad)}")
        tx.save_dataset(dataset_id, {**attributes, attribute: to_state})
    return store.dataset_json(run_number, name)
