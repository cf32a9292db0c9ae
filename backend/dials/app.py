"""The DIALS stand-in's HTTP app (Starlette), mounted by the embedded service under ``/dials``.

Routes of ``dials-protocol.md`` §2 under ``api/v1/`` with the 2.4.1 wire shapes: cursor pagination
(``{next, previous, results}``, ``page_size`` default 10 and clamped to 500, an opaque URL-safe ``next_token``,
absolute ``next`` URLs, 404 ``Invalid cursor``), filters as django-filter applies them (400 field errors),
composite-key detail routes (404 ``No <Model> matches the given query.``), the unpaginated ``mes/``, cert-json
and golden-json (POST JSON body, or GET parameters), the ``Workspace`` header (404 for an unknown one), auth
(``Authorization: Bearer`` or ``X-CLIENT-SECRET``; 403 ``{detail, code}``) and the Keycloak stand-in under
``auth/realms/cern/``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from backend.auth import parse_form
from backend.dials.data import DEFAULT_WORKSPACE, WORKSPACES, DialsUniverse, Prune, Row, Workspace
from backend.dials.keycloak import DialsAuth, Keycloak, TokenAnswer
from backend.dials.query import FieldValidationError, Query, ServerFailureError, parse_query
from backend.dials.rows import public, scan
from backend.errors import BackendError
from querylang.dials_catalogue import DIALS_RESOURCES, DialsResource

__all__ = ["create_dials_app", "golden_json"]

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 10, 500
_REALM = "/auth/realms/cern/"


class _HttpError(BackendError):
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body


def _not_found_html() -> Response:
    return HTMLResponse("<!doctype html><title>Not Found</title><h1>Not Found</h1>", status_code=404)


def create_dials_app(
    universe: DialsUniverse, *, auth: DialsAuth | None = None, keycloak: Keycloak | None = None
) -> Starlette:
    """The DIALS ASGI app over ``universe``; ``auth`` decides who may call it (default: any non-empty token)."""
    idp = keycloak if keycloak is not None else Keycloak(auth if auth is not None else DialsAuth(open=True))
    api = _Api(universe, idp)
    routes = [
        Route(_REALM + "protocol/openid-connect/auth/device", _form(idp.device), methods=["POST"]),
        Route(_REALM + "protocol/openid-connect/token", _form(idp.token), methods=["POST"]),
        Route(_REALM + "api-access/token", _form(lambda f: idp.token(f, api_access=True)), methods=["POST"]),
        Route("/api/v1/{path:path}", api.endpoint, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes)


#: Largest token-endpoint form accepted (a real one is a few hundred bytes).
_FORM_BYTES = 64 * 1024


def _form(handler: Callable[[dict[str, str]], TokenAnswer]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > _FORM_BYTES:
                return JSONResponse({"error": "invalid_request", "error_description": "form too large"}, 400)
            raw.append(chunk)
        status, body = handler(parse_form(b"".join(raw)))
        return JSONResponse(body, status_code=status)

    return endpoint


class _Api:
    def __init__(self, universe: DialsUniverse, idp: Keycloak) -> None:
        self.universe = universe
        self.idp = idp

    async def endpoint(self, request: Request) -> Response:
        parts = request.path_params["path"].split("/")
        if not request.url.path.endswith("/") or not parts or parts[-1] != "":
            return _not_found_html()
        denied = self.authenticate(request)
        if denied is not None:
            return JSONResponse(denied, status_code=403)
        body = await request.body() if request.method == "POST" else b""
        try:
            status, payload = await run_in_threadpool(self.dispatch, request, parts[:-1], body)
        except _HttpError as err:
            return JSONResponse(err.body, status_code=err.status)
        except ServerFailureError:
            return HTMLResponse("<h1>Server Error (500)</h1>", status_code=500)
        if payload is _NOT_FOUND:
            return _not_found_html()
        return JSONResponse(payload, status_code=status)

    def authenticate(self, request: Request) -> dict[str, str] | None:
        secret = request.headers.get("x-client-secret")
        if secret is not None:
            return self.idp.check_secret(secret)
        header = request.headers.get("authorization")
        if header is None:
            return {"detail": "Authorization header not found.", "code": "authorization_not_found"}
        _, _, token = header.partition("Bearer ")
        return self.idp.check_bearer(token)

    def workspace(self, request: Request) -> Workspace:
        name = request.headers.get("workspace") or DEFAULT_WORKSPACE
        if name not in WORKSPACES:
            raise _HttpError(404, {"detail": f"Workspace '{name}' not found"})
        return self.universe.workspace(name)

    def dispatch(self, request: Request, parts: list[str], body: bytes) -> tuple[int, Any]:
        if parts in (["workspaces"], ["auth", "workspaces"]):
            return 200, {"workspaces": list(WORKSPACES)}
        if parts in (["workspaces", "my-default"], ["auth", "user-default-workspace"]):
            return 200, {"workspace": DEFAULT_WORKSPACE}
        resource = DIALS_RESOURCES.get(parts[0]) if parts else None
        if resource is None:
            return 404, _NOT_FOUND
        ws = self.workspace(request)
        if resource.name == "ml-bad-lumisection" and parts[1:] in (["cert-json"], ["golden-json"]):
            return 200, _json_report(ws, parts[1], request, body)
        if request.method != "GET":
            raise _HttpError(405, {"detail": f'Method "{request.method}" not allowed.'})
        if len(parts) == 1:
            return 200, self.listing(ws, resource, request)
        return 200, _detail(ws, resource, parts[1:])

    def listing(self, ws: Workspace, resource: DialsResource, request: Request) -> Any:
        params = list(request.query_params.multi_items())
        try:
            query = parse_query(resource, params).narrowed(ws)
        except FieldValidationError as err:
            raise _HttpError(400, err.errors) from None
        if not resource.paginated:
            return [public(r) for r in scan(ws, resource.name, query.prune) if query.matches(r)]
        values = dict(params)
        size = _page_size(values.get("page_size"))
        after = _decode_cursor(values.get("next_token"), len(resource.key))
        query = Query(query.conditions, _with_after(query.prune, after))
        page = _take(scan(ws, resource.name, query.prune), query, resource.key, after, size + 1)
        more = len(page) > size
        page = page[:size]
        last = tuple(page[-1][k] for k in resource.key) if more else None
        return {
            "next": None if last is None else _url_with_token(request, _encode_cursor(last)),
            "previous": None if after is None else _url_with_token(request, _encode_cursor(after, reverse=True)),
            "results": [public(r) for r in page],
        }


_NOT_FOUND = object()


def _with_after(prune: Prune, after: tuple[int, ...] | None) -> Prune:
    return prune if after is None else dataclasses.replace(prune, after=after)


def _take(rows: Iterator[Row], query: Query, key: tuple[str, ...], after: tuple[int, ...] | None, n: int) -> list[Row]:
    out: list[Row] = []
    for row in rows:
        if after is not None and tuple(row[k] for k in key) <= after:
            continue
        if query.matches(row):
            out.append(row)
            if len(out) == n:
                break
    return out


def _page_size(raw: str | None) -> int:
    try:
        size = int(raw) if raw is not None else DEFAULT_PAGE_SIZE
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return DEFAULT_PAGE_SIZE if size <= 0 else min(size, MAX_PAGE_SIZE)


def _encode_cursor(key: tuple[int, ...], *, reverse: bool = False) -> str:
    text = json.dumps({"p": [str(k) for k in key], "r": int(reverse)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(token: str | None, length: int) -> tuple[int, ...] | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key = tuple(int(k) for k in data["p"])
        if data.get("r") or len(key) != length:
            raise ValueError("reverse or wrong-length cursor")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _HttpError(404, {"detail": "Invalid cursor"}) from None
    return key


def _url_with_token(request: Request, token: str) -> str:
    """The request's absolute URL, every parameter kept, with ``next_token`` replaced."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "next_token"]
    return str(request.url.replace(query=urllib.parse.urlencode([*params, ("next_token", token)])))


def _detail(ws: Workspace, resource: DialsResource, keys: list[str]) -> Any:
    detail_key = resource.key if resource.name != "dataset-index" else ("dataset_id",)
    if len(keys) != len(detail_key) or not all(k.isdigit() for k in keys):
        return _NOT_FOUND
    wanted = tuple(int(k) for k in keys)
    prune = _detail_prune(resource, wanted)
    for row in scan(ws, resource.name, prune):
        if tuple(row[k] for k in detail_key) == wanted:
            return public(row)
    raise _HttpError(404, {"detail": f"No {resource.model} matches the given query."})


def _detail_prune(resource: DialsResource, wanted: tuple[int, ...]) -> Prune:
    fields = dict(zip(resource.key, wanted, strict=True))
    runs = (fields["run_number"],) * 2 if "run_number" in fields else (0, 2**62)
    ls = (fields["ls_number"],) * 2 if "ls_number" in fields else (0, 2**62)
    return Prune(
        dataset_ids=frozenset([fields["dataset_id"]]) if "dataset_id" in fields else None,
        runs=runs,
        ls=ls,
        me_ids=frozenset([fields["me_id"]]) if "me_id" in fields else None,
        model_ids=frozenset([fields.get("model_id", fields.get("id", 0))])
        if {"model_id", "id"} & set(fields)
        else None,
    )


# -- cert-json and golden-json -----------------------------------------------------------------------------
def _json_report(ws: Workspace, kind: str, request: Request, body: bytes) -> Any:
    ids = _report_params(request, body)
    flagged = _flagged(ws, *ids)
    if kind == "cert-json":
        return {str(run): {str(ls): items for ls, items in sorted(flagged.get(run, {}).items())} for run in ids[2]}
    return golden_json(ws, ids[1], ids[2], flagged)


def _report_params(request: Request, body: bytes) -> tuple[list[int], list[int], list[int]]:
    """The three id lists, from the JSON body (POST, client 2.4.1) or the query string (GET, server v1.12)."""
    names = ("model_id__in", "dataset_id__in", "run_number__in")
    if request.method == "POST":
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise _HttpError(400, {"detail": f"JSON parse error - {exc}"}) from None
        raw = [data.get(n) if isinstance(data, dict) else None for n in names]
    else:
        raw = [request.query_params[n].split(",") if n in request.query_params else None for n in names]
    if any(not isinstance(values, list) for values in raw):
        raise ServerFailureError("missing parameter")  # the real service fails with a 500 here (defect 18)
    try:
        models, datasets, runs = ([int(v) for v in values if v != ""] for values in raw)  # type: ignore[union-attr]
    except (ValueError, TypeError) as exc:
        raise _HttpError(400, [str(exc)]) from None
    return models, datasets, runs


def _flagged(ws: Workspace, models: list[int], datasets: list[int], runs: list[int]) -> dict[int, dict[int, list[Any]]]:
    out: dict[int, dict[int, list[Any]]] = {}
    for model in ws.models:
        if model["id"] not in models:
            continue
        for dataset_id in datasets:
            for run in runs:
                for ls, metric in ws.flagged(model["id"], dataset_id, run) if ws.has_run(dataset_id, run) else ():
                    item = {
                        "model_id": model["id"],
                        "me_id": model["_me_id"],
                        "me": model["_me"],
                        "filename": model["name"],
                        "metric_value": metric,
                    }
                    out.setdefault(run, {}).setdefault(ls, []).append(item)
    return out


def golden_json(
    ws: Workspace, datasets: list[int], runs: list[int], flagged: dict[int, dict[int, list[Any]]]
) -> dict[str, list[list[int]]]:
    """Ingested and unflagged lumisections of the given datasets and runs as golden-JSON ranges.

    Like the real service (``dials-protocol.md`` §8, defect 18), a lumisection is seen once per dataset and the
    range compression only extends a range by the next number, so several datasets give overlapping,
    non-maximal ranges (``[1,1],[1,2],[2,3],[3,3]``); one dataset gives sorted, maximal ranges.
    """
    out: dict[str, list[list[int]]] = {}
    for run in sorted(set(runs)):
        copies = sum(1 for d in datasets if ws.has_run(d, run))
        good = sorted(ls for ls in ws.ingested(run) if ls not in flagged.get(run, {}) for _ in range(copies))
        ranges: list[list[int]] = []
        for ls in good:
            if ranges and ranges[-1][1] == ls - 1:
                ranges[-1][1] = ls
            else:
                ranges.append([ls, ls])
        if ranges:
            out[str(run)] = ranges
    return out
