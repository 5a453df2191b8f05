"""Who is calling: each /v1 request's bearer token is verified once, here, into request state.

`Identify` runs before the rate limit, the cached-recommendation fast path and routing. Each of
those reads the outcome with `caller_of` instead of checking the token again: the rate limit
counts requests per verified subject, the fast path answers only a caller with `read`, the route
dependencies demand their scope, and the error handlers refuse an unauthenticated caller before
telling it anything about its request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ai_backend.auth import Principal
from ai_backend.errors import PROTECTED_PREFIX, DomainError, Unauthorized

STATE_KEY = "caller"


@dataclass(frozen=True, slots=True)
class Caller:
    """A request's verified principal, or why its token was refused (exactly one is set)."""

    principal: Principal | None
    refusal: DomainError | None

    def require_principal(self) -> Principal:
        if self.refusal is not None:
            raise self.refusal
        assert self.principal is not None
        return self.principal


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (lower-case `name`), as Starlette reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def identify(scope: Scope) -> Caller:
    """Verify the request's bearer token with the app's verifier."""
    resources: Any = getattr(scope["app"].state, "resources", None)
    if resources is None:  # not started (or already stopped): nobody can be verified
        return Caller(None, Unauthorized("the service is not ready to verify tokens"))
    try:
        return Caller(resources.tokens.verify(header(scope, b"authorization")), None)
    except DomainError as exc:
        return Caller(None, exc)


def caller_of(scope: Scope) -> Caller:
    """The caller `Identify` resolved for this request; resolved here, once, if it has not been
    (a request outside /v1, or an app assembled without the middleware)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    caller: Caller | None = state.get(STATE_KEY)
    if caller is None:
        caller = state[STATE_KEY] = identify(scope)
    return caller


class Identify:
    """ASGI middleware: resolve the caller of every /v1 request before anything else reads it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIX):
            caller_of(scope)
        await self.app(scope, receive, send)
