"""Domain errors carry their HTTP status; one set of handlers renders the JSON envelope."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ai_backend.infra.outages import OUTAGE_FAMILIES, unavailable
from ai_backend.observability import current_request_id

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """An expected failure with a stable machine-readable code."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class Invalid(DomainError):
    """Input that passed the schema but still cannot be served; the message names the field."""

    status_code = 422
    code = "validation_error"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message, details=details, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class UnknownOwner(Invalid):
    """A record names a member (its owner, the member who checked in) not yet upserted."""

    code = "unknown_owner"


class UnknownUser(NotFound):
    code = "unknown_user"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"no user with id '{user_id}'; upsert it with PUT /v1/users/{{id}}")


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, details: Any = None) -> None:
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after)})


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after)})


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {
        "error": {"code": code, "message": message, "details": jsonable_encoder(details)},
        "request_id": current_request_id(),
    }
    return JSONResponse(body, status_code=status_code, headers=headers)


def _describe_validation(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    details = [
        {
            "location": [str(part) for part in err.get("loc", ())],
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in errors
    ]
    first = details[0] if details else {"location": [], "message": "invalid request"}
    where = ".".join(first["location"]) or "request"
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{where}: {first['message']}{more}", details


PROTECTED_PREFIX = "/v1/"
# What FastAPI says when a body cannot even be decoded; reworded into something actionable.
FASTAPI_BODY_ERROR = "There was an error parsing the body"
Guard = Callable[[Request], "DomainError | None"]


def install_error_handlers(app: FastAPI, *, guard: Guard | None = None) -> None:
    """Render every failure as the envelope; `guard` vets /v1 callers before they are told
    anything about their request (a 400, 404, 405 or 422)."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return error_response(
            exc.status_code, exc.code, exc.message, details=exc.details, headers=exc.headers
        )

    def denied(request: Request) -> DomainError | None:
        """Why an unauthenticated /v1 request is refused, if it is one. FastAPI decodes a body
        before it runs the token check, so a caller without a token must not learn from the
        body's errors (or a 404 or 405) which routes exist."""
        if guard is None or not request.url.path.startswith(PROTECTED_PREFIX):
            return None
        return guard(request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if (denial := denied(request)) is not None:
            return await _domain(request, denial)
        message, details = _describe_validation(list(exc.errors()))
        return error_response(422, "validation_error", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (400, 404, 405) and (denial := denied(request)) is not None:
            return await _domain(request, denial)
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 400 and message == FASTAPI_BODY_ERROR:
            message = "the request body is not UTF-8 JSON: send Content-Type application/json"
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    async def _outage_or_bug(request: Request, exc: Exception) -> JSONResponse:
        if (dependency := unavailable(exc)) is not None:
            logger.warning("%s unavailable", dependency, exc_info=exc)
            return error_response(
                503,
                "service_unavailable",
                f"{dependency} is unavailable; retry shortly",
                headers={"Retry-After": "5"},
            )
        return await _unexpected(request, exc)

    # Errors from the clients of PostgreSQL and Redis: an outage answers 503, anything else
    # (a constraint violated, say) is a bug and answers 500.
    for family in OUTAGE_FAMILIES:
        app.add_exception_handler(family, _outage_or_bug)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "internal error; see the service logs")
