"""Fresh cached recommendations, answered before routing.

A cache hit is a dictionary lookup, but FastAPI's routing, dependency solving and parameter
validation cost several times that. This ASGI middleware answers
`GET /v1/users/{id}/recommendations` itself when, and only when, all of this holds:

- the caller's bearer token (verified once, by `identity.Identify`) carries `read`;
- every query parameter is one the route accepts, in a form it accepts;
- the process-local cache tier holds a fresh entry for the normalised request.

An entry exists only for a request the full route already validated and answered, so the fast
path can never accept what the route would refuse. Anything else (a miss, a stale entry, a bad
token, an odd parameter) goes on to the route unchanged, which answers it in full.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from ai_backend.domain import ID_PATTERN, ITEM_KINDS, MAX_PAGE
from ai_backend.errors import DomainError
from ai_backend.identity import caller_of
from ai_backend.recommend.cache import ANSWERS
from ai_backend.recommend.reasons import ReasonLocale
from ai_backend.recommend.request import RecommendRequest, envelope
from ai_backend.recommend.schemas import MAX_EXCLUDE, Target

PATH = re.compile(r"^/v1/users/([^/]+)/recommendations$")
IDS = re.compile(ID_PATTERN)


def parse(user_id: str, query: str) -> RecommendRequest | None:
    """The request the route would build from this query string, or None to let it decide."""
    target: Target = "items"
    limit = 10
    kinds: list[str] = []
    excluded: list[str] = []
    locale: ReasonLocale | None = None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "target" and value == "people":
            target = "people"
        elif name == "target" and value == "items":
            target = "items"
        elif name == "limit" and value.isdigit() and 1 <= int(value) <= MAX_PAGE:
            limit = int(value)
        elif name == "kind" and value in ITEM_KINDS:
            kinds.append(value)
        elif name == "locale" and value in ("zh-TW", "en"):
            locale = "zh-TW" if value == "zh-TW" else "en"
        elif name == "exclude_ids":
            excluded.extend(i for i in value.split(",") if i)
        else:
            return None
    if len(excluded) > MAX_EXCLUDE or not all(IDS.match(i) for i in excluded):
        return None
    if not IDS.match(user_id) or (target == "people" and kinds):
        return None
    return RecommendRequest.normalised(user_id, target, limit, kinds, excluded, locale)


class CachedRecommendations:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = PATH.match(scope["path"])
            if match is not None and await self._answer(scope, match.group(1), send):
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, user_id: str, send: Send) -> bool:
        principal = caller_of(scope).principal
        if principal is None:
            return False
        try:
            principal.require("read")
        except DomainError:
            return False
        resources: Any = scope["app"].state.resources
        request = parse(user_id, scope["query_string"].decode("latin-1"))
        if request is None:
            return False
        entry = resources.recommender.cache.local.get(request.user_id, request.cache_key())
        if entry is None or time.time() >= entry.fresh_until:
            return False
        body = envelope("hit", False, entry.body)
        ANSWERS.labels("hit").inc()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True
