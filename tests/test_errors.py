"""The JSON error envelope and X-Request-ID, on every kind of failure."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from ai_backend.errors import Conflict, install_error_handlers
from ai_backend.observability import RequestIdMiddleware
from tests.conftest import TimedASGITransport


async def test_unknown_path_and_method_use_the_envelope(client: httpx.AsyncClient) -> None:
    missing = await client.get("/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"

    wrong_method = await client.delete("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123:x"})
    assert given.headers["x-request-id"] == "abc-123:x"

    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32

    # Header injection or absurd lengths are never echoed back.
    hostile = await client.get("/healthz", headers={"X-Request-ID": "a" * 500})
    assert hostile.headers["x-request-id"] != "a" * 500


class Thing(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    count: int = Field(ge=0)


@pytest.fixture
async def toy_client() -> httpx.AsyncClient:
    """A bare app with the same handlers, to provoke each failure on purpose."""
    toy = FastAPI()
    install_error_handlers(toy)
    toy.add_middleware(RequestIdMiddleware)

    @toy.post("/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @toy.get("/conflict")
    async def conflict() -> None:
        raise Conflict("already exists", details={"id": "x"})

    @toy.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = TimedASGITransport(app=toy, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://toy")


async def test_validation_error_says_what_to_fix(toy_client: httpx.AsyncClient) -> None:
    response = await toy_client.post(
        "/things", json={"name": "", "count": -1}, headers={"X-Request-ID": "v-1"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["message"].startswith("body.name:")
    assert "(and 1 more)" in body["error"]["message"]
    assert {tuple(d["location"]) for d in body["error"]["details"]} == {
        ("body", "name"),
        ("body", "count"),
    }
    assert body["request_id"] == "v-1"


async def test_malformed_json_is_a_4xx(toy_client: httpx.AsyncClient) -> None:
    response = await toy_client.post(
        "/things", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_domain_error_carries_status_and_details(toy_client: httpx.AsyncClient) -> None:
    response = await toy_client.get("/conflict")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "already exists",
        "details": {"id": "x"},
    }


async def test_unexpected_error_is_a_500_without_internals(toy_client: httpx.AsyncClient) -> None:
    response = await toy_client.get("/boom", headers={"X-Request-ID": "b-1"})
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "internal_error"
    assert "secret" not in response.text
    assert body["request_id"] == "b-1"
