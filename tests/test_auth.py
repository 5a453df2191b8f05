"""Every way a token can be wrong gets 401; a missing scope gets 403; health needs no token."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import jwt
import pytest

from tests.conftest import JWT_SECRET, claims

WHOAMI = "/v1/system/whoami"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "missing"),
        ("Token abc", "malformed"),
        ("Bearer", "malformed"),
        ("Bearer not.a.jwt", "invalid"),
        (f"Bearer {jwt.encode(claims(exp=int(time.time()) - 10), JWT_SECRET)}", "expired"),
        (f"Bearer {jwt.encode(claims(), JWT_SECRET, algorithm='HS512')}", "algorithm"),
        (f"Bearer {jwt.encode(claims(), 'another-secret-of-enough-length-123456')}", "signature"),
        (f"Bearer {jwt.encode(claims(iss='someone-else'), JWT_SECRET)}", "issuer"),
        (f"Bearer {jwt.encode(claims(exp=None), JWT_SECRET)}", "no expiry"),
        (f"Bearer {jwt.encode(claims(), '', algorithm='none')}", "unsigned"),
    ],
)
async def test_bad_tokens_get_401_envelope(
    client: httpx.AsyncClient, header: str | None, why: str
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await client.get(WHOAMI, headers=headers)
    assert response.status_code == 401, why
    body = response.json()
    assert body["error"]["code"] == "unauthorized"
    assert body["error"]["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["www-authenticate"] == "Bearer"


async def test_missing_scope_gets_403(
    client: httpx.AsyncClient, auth: Callable[..., dict[str, str]]
) -> None:
    response = await client.get(WHOAMI, headers=auth("write"))
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"required": "read", "granted": ["write"]}

    response = await client.post("/v1/system/worker-ping", headers=auth("read", "write"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("scopes", [("read",), ("admin",), ("read", "write")])
async def test_granted_scope_passes(
    client: httpx.AsyncClient, token: Callable[..., str], scopes: tuple[str, ...]
) -> None:
    response = await client.get(
        WHOAMI, headers={"Authorization": f"Bearer {token(*scopes, sub='svc')}"}
    )
    assert response.status_code == 200
    assert response.json() == {"subject": "svc", "scopes": sorted(scopes)}


async def test_unknown_scopes_in_a_token_grant_nothing(client: httpx.AsyncClient) -> None:
    forged = jwt.encode(claims(scope="superuser root"), JWT_SECRET)
    response = await client.get(WHOAMI, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 403


async def test_metrics_count_requests(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    metrics = (await client.get("/metrics")).text
    assert 'http_requests_total{handler="/healthz",method="GET",status="2xx"}' in metrics


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_health_and_metrics_need_no_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200


async def test_every_v1_route_demands_a_token(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    v1 = [
        (path, method)
        for path, ops in schema["paths"].items()
        for method in ops
        if path.startswith("/v1")
    ]
    assert v1, "the API exposes /v1 routes"
    for path, method in v1:
        response = await client.request(method.upper(), path)
        assert response.status_code == 401, (method, path)


async def test_unknown_v1_paths_reveal_nothing_without_a_token(
    client: httpx.AsyncClient, auth: Callable[..., dict[str, str]]
) -> None:
    anonymous = await client.get("/v1/no-such-route")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    wrong_method = await client.delete("/v1/system/whoami")
    assert wrong_method.status_code == 401

    known = await client.get("/v1/no-such-route", headers=auth("read"))
    assert known.status_code == 404
    assert known.json()["error"]["code"] == "not_found"
