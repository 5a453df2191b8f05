"""Request guards that run before routing: the body size cap and the per-caller rate limit.

Both are plain ASGI middleware so that they also cover the cached-recommendation fast path,
which answers before FastAPI's routing and dependencies.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai_backend.errors import PROTECTED_PREFIX, error_response
from ai_backend.identity import caller_of, header

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodySizeLimit:
    """Refuses a request body above `max_bytes` with 413, declared or streamed.

    The body is read here (FastAPI would buffer it whole anyway) so that an over-long chunked
    upload is cut off at the cap instead of being held in memory.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            "payload_too_large",
            f"the request body is larger than {self.max_bytes} bytes (MAX_BODY_BYTES); "
            "send fewer entries per batch",
            details={"max_bytes": self.max_bytes},
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


class RateLimit:
    """At most `limit` requests per token subject, per API process, on /v1 routes.

    A request with a token that does not verify is passed on untouched: the route answers it
    with 401, so a flood of forged tokens cannot spend a real caller's allowance.
    """

    def __init__(self, app: ASGIApp, *, limit: str | None) -> None:
        self.app = app
        self.item: RateLimitItem | None = parse(limit) if limit else None
        self.limiter = FixedWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.item is None
            or scope["type"] != "http"
            or not scope["path"].startswith(PROTECTED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        principal = caller_of(scope).principal
        subject = None if principal is None else principal.subject
        if subject is None or self.limiter.hit(self.item, subject):
            await self.app(scope, receive, send)
            return
        reset = self.limiter.get_window_stats(self.item, subject).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        response = error_response(
            429,
            "too_many_requests",
            f"this token's caller exceeded {self.item}; retry after {retry_after} s",
            details={"limit": str(self.item), "retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
