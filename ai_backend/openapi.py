"""What the OpenAPI document says beyond the routes themselves: the error envelope and what each
error status means, links from a response to the calls that take its ids, and the bearer scheme.
node_gateway's types are generated from this document (`daodao-ai openapi`)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from ai_backend.errors import PROTECTED_PREFIX


class ErrorDetail(BaseModel):
    code: str = Field(description="stable and machine-readable, e.g. validation_error")
    message: str = Field(description="what went wrong and what to change")
    details: Any = Field(default=None, description="structured context, when there is some")


class ErrorBody(BaseModel):
    """The one shape of every 4xx and 5xx answer."""

    error: ErrorDetail
    request_id: str | None = Field(description="the X-Request-ID of this request")


_ERROR_MEANINGS = {
    400: "the request body could not be read as UTF-8 JSON",
    401: "no token, or one that is malformed, forged, expired or for another issuer",
    403: "the token lacks the scope this route needs",
    404: "an id in the path or body names nothing that exists",
    409: "the request conflicts with the current state",
    413: "the request body is larger than MAX_BODY_BYTES",
    422: "the input is invalid; `details` lists each field and why",
    429: "a rate limit or quota is spent; retry after `Retry-After` seconds",
    503: "a dependency is unavailable; retry after `Retry-After` seconds",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response entries for these error statuses, all in the ErrorBody shape."""
    return {
        status: {"model": ErrorBody, "description": _ERROR_MEANINGS[status]} for status in statuses
    }


# What any authenticated route can answer besides its own success.
PROTECTED_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 429, 503)


def to(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """A link to the operation at `path` and `method`, filling its parameters by expression
    (`$request.path.user_id`, `$response.body#/job_id`, ...)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


def responses(
    model: Any, statuses: tuple[int, ...], **links: dict[str, Any]
) -> dict[int | str, Any]:
    """Response entries for these statuses, each with `model` and the same links."""
    return {status: {"model": model, "links": links} for status in statuses}


def declare_bearer_auth(app: FastAPI) -> None:
    """Name the bearer JWT in the OpenAPI document, on every route that needs it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()  # FastAPI keeps it as app.openapi_schema: amended once, here
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
        for path, operations in schema["paths"].items():
            if path.startswith(PROTECTED_PREFIX):
                for operation in operations.values():
                    operation["security"] = [{"bearer": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def openapi_json(app: FastAPI) -> str:
    """The OpenAPI document as stable text: node_gateway's types are generated from it."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
