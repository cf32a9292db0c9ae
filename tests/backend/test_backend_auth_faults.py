"""Optional token auth (reader/writer roles, expiry) and seeded fault injection."""

from __future__ import annotations

import httpx
import pytest
from testkit.clocks import FakeClock
from testkit.servers import ServerPool

from backend.auth import AuthConfig, TokenIssuer
from backend.faults import FaultPlan
from backend.server import EmbeddedServer

CLIENTS = {"reader-app": ("r-secret", "reader"), "writer-app": ("w-secret", "writer")}


def token(srv: EmbeddedServer, client_id: str, secret: str) -> httpx.Response:
    assert srv.token_url is not None
    return httpx.post(
        srv.token_url, data={"grant_type": "client_credentials", "audience": "runql"}, auth=(client_id, secret)
    )


def test_auth_roles_and_token_endpoint(server_pool: ServerPool) -> None:
    auth = AuthConfig(clients=CLIENTS, token_path="/sso/token", expires_in=300)
    with server_pool.fresh(runs=10, seed=3, auth=auth) as srv:
        assert srv.token_url == srv.url + "/sso/token"
        denied = httpx.get(f"{srv.url}/runs/1")
        assert denied.status_code == 401
        assert "message" in denied.json()
        assert token(srv, "reader-app", "wrong").status_code == 401
        assert token(srv, "nobody", "x").status_code == 401
        bad_grant = httpx.post(srv.token_url or "", data={"grant_type": "password"}, auth=("reader-app", "r-secret"))
        assert bad_grant.status_code == 400
        grant = token(srv, "reader-app", "r-secret").json()
        assert set(grant) == {"access_token", "expires_in", "token_type"}
        assert (grant["expires_in"], grant["token_type"]) == (300, "Bearer")
        reader = {"Authorization": f"Bearer {grant['access_token']}"}
        assert httpx.get(f"{srv.url}/runs/1", headers=reader).status_code == 200
        assert httpx.get(f"{srv.url}/runs/1", headers={"Authorization": "Bearer forged"}).status_code == 401
        write = httpx.post(f"{srv.url}/runs/refresh_run/1", headers=reader)
        assert write.status_code == 401
        assert "writer" in write.json()["message"]
        writer = {"Authorization": f"Bearer {token(srv, 'writer-app', 'w-secret').json()['access_token']}"}
        assert httpx.post(f"{srv.url}/runs/refresh_run/1", headers=writer).status_code == 500  # no run 1: allowed
        assert srv.stats["token_requests"] == 5


def test_expired_tokens_are_refused(server_pool: ServerPool) -> None:
    clock = FakeClock()
    with server_pool.fresh(runs=10, seed=3, auth=AuthConfig(clients=CLIENTS, expires_in=10, clock=clock)) as srv:
        grant = token(srv, "reader-app", "r-secret").json()
        bearer = {"Authorization": f"Bearer {grant['access_token']}"}
        clock.advance(9.9)
        assert httpx.get(f"{srv.url}/runs/1", headers=bearer).status_code == 200
        clock.advance(0.1)
        reply = httpx.get(f"{srv.url}/runs/1", headers=bearer)
        assert reply.status_code == 401
        assert "expired" in reply.json()["message"]


def test_token_issuer_expiry_with_a_clock() -> None:
    clock = FakeClock(0.0)
    issuer = TokenIssuer(AuthConfig(clients=CLIENTS, expires_in=10), clock=clock)
    access = str(issuer.issue("writer-app", "w-secret")["access_token"])
    assert issuer.role_of(access) == "writer"
    clock.advance(10.0)
    with pytest.raises(Exception, match="expired"):
        issuer.role_of(access)


def test_auth_config_validates_and_hides_secrets() -> None:
    with pytest.raises(ValueError, match="reader"):
        AuthConfig(clients={"x": ("s", "admin")})  # type: ignore[dict-item]
    assert "w-secret" not in repr(AuthConfig(clients=CLIENTS))


def test_fault_plan_is_seeded_and_respects_the_rate() -> None:
    plan_a, plan_b = FaultPlan(0.3, seed=5), FaultPlan(0.3, seed=5)
    sequence = [plan_a.draw() for _ in range(2000)]
    assert sequence == [plan_b.draw() for _ in range(2000)]
    failures = sum(kind is not None for kind in sequence)
    assert 450 < failures < 750
    assert {k for k in sequence if k} == {"502", "503", "drop", "delay"}
    assert all(FaultPlan(0.0).draw() is None for _ in range(100))
    with pytest.raises(ValueError, match="within"):
        FaultPlan(1.5)


def test_a_retrying_client_gets_every_page_despite_faults(server_pool: ServerPool) -> None:
    # delayed answers come after 10 ms and are waited for: only the 502/503s and dropped connections fail, so the
    # test counts attempts, and no timeout decides an outcome however loaded the machine is
    with server_pool.fresh(runs=60, seed=4, faults=0.3, fault_seed=9, fault_delay=0.01) as srv:
        pages: dict[int, list[int]] = {}
        attempts = 0
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            for page in range(6):
                while page not in pages:
                    attempts += 1
                    assert attempts < 200
                    try:
                        reply = client.post(
                            "/runs_filtered_ordered", json={"page": page, "page_size": 10, "filter": {}, "sortings": []}
                        )
                    except httpx.TransportError:
                        continue
                    if reply.status_code == 200:
                        pages[page] = [r["run_number"] for r in reply.json()["runs"]]
        numbers = [n for page in range(6) for n in pages[page]]
        assert len(numbers) == len(set(numbers)) == 60
        assert numbers == sorted(numbers, reverse=True)
        stats = srv.stats
        assert stats["faults"] == sum(stats["fault_kinds"].values())
        failed = attempts - 6
        assert failed > 0
        assert stats["faults"] - stats["fault_kinds"].get("delay", 0) == failed  # exactly the injected failures
