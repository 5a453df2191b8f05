"""Service-to-service bearer JWTs: HS256 only, expiry required, scopes checked per route."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, get_args

import jwt

from ai_backend.errors import Forbidden, Unauthorized

Scope = Literal["read", "write", "admin"]
SCOPES: frozenset[str] = frozenset(get_args(Scope))
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]

    def require(self, scope: Scope) -> None:
        # admin implies everything; write does not imply read on purpose (least privilege).
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(
                f"this token lacks the '{scope}' scope",
                details={"required": scope, "granted": sorted(self.scopes)},
            )


def issue_token(key: str, *, scopes: list[str], subject: str, ttl_seconds: int, issuer: str) -> str:
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; choose from {sorted(SCOPES)}")
    now = int(time.time())
    claims = {
        "sub": subject,
        "scope": " ".join(sorted(set(scopes))),
        "iat": now,
        "exp": now + ttl_seconds,
        "iss": issuer,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def principal_from_header(authorization: str | None, *, key: str, issuer: str) -> Principal:
    return _verify(authorization, key=key, issuer=issuer)[0]


def _verify(authorization: str | None, *, key: str, issuer: str) -> tuple[Principal, float]:
    """The token's principal and expiry, or Unauthorized saying what is wrong with it."""
    if not authorization:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("malformed Authorization header: expected 'Bearer <token>'")
    try:
        claims = jwt.decode(
            token.strip(),
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired: mint a new one") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    scope_claim = claims.get("scope", "")
    if not isinstance(scope_claim, str):
        raise Unauthorized("invalid token: 'scope' must be a space-separated string")
    principal = Principal(
        subject=str(claims["sub"]), scopes=frozenset(scope_claim.split()) & SCOPES
    )
    return principal, float(claims["exp"])


class TokenVerifier:
    """Verifies bearer headers, remembering tokens already verified until they expire.

    A token is immutable and its signature was checked once, so the answer for the same string
    cannot change before `exp`; skipping the HMAC and claim checks on repeats is safe.
    """

    def __init__(self, key: str, issuer: str, *, capacity: int = 4096) -> None:
        self.key = key
        self.issuer = issuer
        self.capacity = capacity
        self._known: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, authorization: str | None) -> Principal:
        known = self._known.get(authorization or "")
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires = _verify(authorization, key=self.key, issuer=self.issuer)
        assert authorization is not None  # _verify refuses a missing header
        self._known[authorization] = (principal, expires)
        if len(self._known) > self.capacity:
            self._known.popitem(last=False)
        return principal
