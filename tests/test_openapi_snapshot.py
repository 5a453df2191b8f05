"""node_gateway's types come from a copy of the OpenAPI document; it must match the API's."""

from __future__ import annotations

from pathlib import Path

from ai_backend.app import create_app
from ai_backend.config import Settings
from ai_backend.openapi import openapi_json

SNAPSHOT = Path(__file__).resolve().parents[1] / "node_gateway" / "openapi.json"


def test_the_gateways_openapi_copy_is_current(settings: Settings) -> None:
    current = openapi_json(create_app(settings))
    assert SNAPSHOT.read_text(encoding="utf-8") == current, (
        "node_gateway/openapi.json is stale: run `make types` and commit the result"
    )
