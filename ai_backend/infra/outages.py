"""Telling a dependency's outage from a bug: which exceptions mean PostgreSQL or Redis is
unreachable (answered 503 with Retry-After), as against anything else (a 500, and a bug)."""

from __future__ import annotations

import traceback

import asyncpg
import redis.exceptions
import sqlalchemy.exc


def _client_in(exc: BaseException) -> str | None:
    """The dependency whose client code raised a bare OSError (a refused socket, say)."""
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("asyncpg"):
            return "PostgreSQL"
        if module.startswith("redis"):
            return "Redis"
    return None


# Base classes of the exceptions a dependency outage raises (checked by `unavailable`).
OUTAGE_FAMILIES: tuple[type[Exception], ...] = (
    OSError,
    sqlalchemy.exc.DBAPIError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    redis.exceptions.RedisError,
)


def unavailable(exc: BaseException) -> str | None:
    """Which dependency an exception says is unreachable, or None when it is something else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            return "Redis"
        if isinstance(
            current,
            asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError
            | asyncpg.ConnectionDoesNotExistError
            | asyncpg.TooManyConnectionsError
            | asyncpg.AdminShutdownError,
        ):
            return "PostgreSQL"
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return "PostgreSQL"
        if isinstance(current, OSError | TimeoutError):
            return _client_in(current) or "a dependency"
        current = current.__cause__ or current.__context__
    return None
