"""Who gets in: the auth matrix over every route, rate limits, CORS and the body size cap."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from ai_backend.app import create_app
from ai_backend.infra.embedder import Embedder
from tests.conftest import JWT_SECRET, TimedASGITransport, make_settings
from tests.conftest import claims as base_claims

Auth = Callable[..., dict[str, str]]
UUID = "00000000-0000-4000-8000-000000000000"
# Every route but health and metrics, with the scope it needs. A route missing here fails
# test_the_matrix_covers_every_route, so a new route cannot skip the matrix.
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/v1/admin/index", "admin"),
    ("GET", "/v1/admin/recommender", "admin"),
    ("POST", "/v1/admin/recommender/train", "admin"),
    ("POST", "/v1/admin/reindex", "admin"),
    ("GET", "/v1/admin/reindex/{job_id}", "admin"),
    ("POST", "/v1/events", "write"),
    ("DELETE", "/v1/events/{event_id}", "write"),
    ("GET", "/v1/feedback/{job_id}", "read"),
    ("GET", "/v1/feedback/{job_id}/events", "read"),
    ("DELETE", "/v1/items/{item_id}", "write"),
    ("GET", "/v1/items/{item_id}", "read"),
    ("PUT", "/v1/items/{item_id}", "write"),
    ("GET", "/v1/items/{item_id}/similar", "read"),
    ("POST", "/v1/items:batch", "write"),
    ("DELETE", "/v1/practices/{practice_id}", "write"),
    ("PUT", "/v1/practices/{practice_id}", "write"),
    ("POST", "/v1/practices/{practice_id}/checkins", "write"),
    ("DELETE", "/v1/practices/{practice_id}/checkins/{checkin_id}", "write"),
    ("GET", "/v1/practices/{practice_id}/feedback", "read"),
    ("POST", "/v1/practices/{practice_id}/feedback", "write"),
    ("GET", "/v1/practices/{practice_id}/partners", "read"),
    ("POST", "/v1/recommend", "read"),
    ("GET", "/v1/search", "read"),
    ("GET", "/v1/system/whoami", "read"),
    ("POST", "/v1/system/worker-ping", "admin"),
    ("DELETE", "/v1/users/{user_id}", "admin"),
    ("PUT", "/v1/users/{user_id}", "write"),
    ("GET", "/v1/users/{user_id}/practices", "read"),
    ("GET", "/v1/users/{user_id}/reactions", "read"),
    ("GET", "/v1/users/{user_id}/recommendations", "read"),
]
# Everything but the needed scope (admin implies every scope, so it is never granted here).
OTHER_SCOPES = {"read": ("write",), "write": ("read",), "admin": ("read", "write")}


def concrete(path: str) -> str:
    """A path with its parameters filled in with well-formed values."""
    return (
        path.replace("{job_id}", UUID if "feedback" in path else "0" * 32)
        .replace("{item_id}", "i-1")
        .replace("{practice_id}", "p-1")
        .replace("{user_id}", "u-1")
        .replace("{event_id}", "e-1")
        .replace("{checkin_id}", "c-1")
    )


def claims(**overrides: object) -> dict[str, object]:
    return base_claims(**{"sub": "matrix", "scope": "read write admin", **overrides})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_by_hand(header: dict[str, str], payload: dict[str, object], secret: bytes) -> str:
    """PyJWT refuses to use a PEM key as an HMAC secret; an attacker would not."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def bad_tokens() -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    none_header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{none_header}.{b64(json.dumps(claims()).encode())}."
    return {
        "bad signature": jwt.encode(claims(), "not-the-service-secret-" + "y" * 40),
        "expired": jwt.encode(claims(exp=int(time.time()) - 5), JWT_SECRET),
        "alg none": unsigned,
        "alg none, signed anyway": unsigned + b64(b"forged"),
        "RS256 with the attacker's key": jwt.encode(claims(), private_pem, algorithm="RS256"),
        "HS256 keyed with an RSA public key": hs256_by_hand(
            {"alg": "HS256", "typ": "JWT"}, claims(), public_pem
        ),
        "HS512 with the right secret": jwt.encode(claims(), JWT_SECRET, algorithm="HS512"),
    }


BAD_TOKENS = bad_tokens()


async def test_the_matrix_covers_every_route(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    served = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if path.startswith("/v1/")
    }
    assert served == {(method, path) for method, path, _ in ROUTES}


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
async def test_auth_matrix(
    client: httpx.AsyncClient, token: Callable[..., str], method: str, path: str, scope: str
) -> None:
    url = concrete(path)
    anonymous = await client.request(method, url)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"]["code"] == "unauthorized"
    assert anonymous.headers["www-authenticate"] == "Bearer"

    for why, bad in BAD_TOKENS.items():
        response = await client.request(method, url, headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, (why, response.text)
        assert response.json()["error"]["code"] == "unauthorized", why

    others = OTHER_SCOPES[scope]
    wrong = await client.request(method, url, headers={"Authorization": f"Bearer {token(*others)}"})
    assert wrong.status_code == 403, wrong.text
    assert wrong.json()["error"]["details"]["required"] == scope

    if method == "GET":
        # The right scope gets past authorisation, whatever the route makes of the request.
        headers = {"Authorization": f"Bearer {token(scope)}"}
        right = await client.request(method, url, headers=headers)
        assert right.status_code not in (401, 403), right.text


async def test_cors_is_off_by_default(client: httpx.AsyncClient, auth: Auth) -> None:
    origin = {"Origin": "https://evil.example"}
    preflight = await client.options(
        "/v1/search",
        headers={**origin, "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    plain = await client.get("/v1/system/whoami", headers={**origin, **auth("read")})
    assert plain.status_code == 200
    assert "access-control-allow-origin" not in plain.headers


@pytest.fixture(scope="module")
async def guarded(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str, embedder: Embedder
) -> AsyncIterator[httpx.AsyncClient]:
    """An API process with tight guards: 5 requests a minute, 4 KiB bodies, one CORS origin."""
    settings = make_settings(
        tmp_path_factory.mktemp("guarded"),
        database_url,
        redis_url,
        rate_limit="5/minute",
        max_body_bytes=4096,
        cors_origins=["https://console.example"],
    )
    app: FastAPI = create_app(settings, embedder=embedder)
    async with app.router.lifespan_context(app):
        transport = TimedASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://guarded") as http:
            yield http


async def test_rate_limit_per_token_subject(
    guarded: httpx.AsyncClient, token: Callable[..., str]
) -> None:
    busy = {"Authorization": f"Bearer {token('read', sub='busy-caller')}"}
    for _ in range(5):
        assert (await guarded.get("/v1/system/whoami", headers=busy)).status_code == 200
    limited = await guarded.get("/v1/system/whoami", headers=busy)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # A fresh token for the same caller does not reset the allowance...
    again = {"Authorization": f"Bearer {token('read', ttl=600, sub='busy-caller')}"}
    assert (await guarded.get("/v1/system/whoami", headers=again)).status_code == 429
    # ...another caller is unaffected, and forged tokens are turned away as 401, not counted.
    other = {"Authorization": f"Bearer {token('read', sub='quiet-caller')}"}
    assert (await guarded.get("/v1/system/whoami", headers=other)).status_code == 200
    forged = {"Authorization": f"Bearer {BAD_TOKENS['bad signature']}"}
    assert (await guarded.get("/v1/system/whoami", headers=forged)).status_code == 401
    # Health stays outside the limit.
    assert (await guarded.get("/healthz")).status_code == 200


async def test_cors_allows_only_configured_origins(guarded: httpx.AsyncClient) -> None:
    ask = {"Access-Control-Request-Method": "GET"}
    allowed = await guarded.options(
        "/healthz", headers={"Origin": "https://console.example", **ask}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://console.example"
    refused = await guarded.options("/healthz", headers={"Origin": "https://evil.example", **ask})
    assert "access-control-allow-origin" not in refused.headers


async def test_bodies_over_the_cap_get_413_and_store_nothing(
    guarded: httpx.AsyncClient, client: httpx.AsyncClient, token: Callable[..., str], unique: str
) -> None:
    write = {"Authorization": f"Bearer {token('write', 'read', sub=f'big-{unique}')}"}
    items = [{"id": f"{unique}-{n}", "kind": "book", "title": "x" * 200} for n in range(40)]
    declared = await guarded.post("/v1/items:batch", json={"items": items}, headers=write)
    assert declared.status_code == 413
    body = declared.json()
    assert body["error"]["code"] == "payload_too_large"
    assert body["error"]["details"] == {"max_bytes": 4096}

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the cap must hold for a streamed body too.
        yield b'{"items": ['
        for n, item in enumerate(items):
            yield (b"," if n else b"") + json.dumps(item).encode()
        yield b"]}"

    streamed = await guarded.post(
        "/v1/items:batch",
        content=chunks(),
        headers={**write, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    stored = await client.get(f"/v1/items/{unique}-0", headers=write)
    assert stored.status_code == 404

    small = await guarded.put(
        f"/v1/items/{unique}-small", json={"kind": "book", "title": "small"}, headers=write
    )
    assert small.status_code == 201, small.text


def test_the_limits_are_documented() -> None:
    operations = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    for setting in ("MAX_BODY_BYTES", "RATE_LIMIT", "CORS_ORIGINS"):
        assert setting in operations, f"docs/operations.md documents {setting}"
