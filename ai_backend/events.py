"""Domain events: what one feature announces and others act on.

A feature publishes an event where the fact happens (the catalogue erases a member); the
composition root (`resources.py`) declares, in one place, who acts on it (the recommendation
cache forgets them, feedback jobs are erased). No feature imports another to tell it something.
Handlers run in the order they subscribed, each awaited; an exception stops the publication and
reaches the publisher, as a direct call would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar


@dataclass(frozen=True, slots=True)
class ProfilesChanged:
    """Members whose profile or practices changed: answers computed for them are stale."""

    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UserErased:
    """A member erased from PostgreSQL; everything derived from them elsewhere must go too,
    including what names the items they owned."""

    user_id: str
    owned: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ItemsWithdrawn:
    """Items that left the index (deleted, made private or hidden): never to be served again."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ItemsChanged:
    """Item rows another feature rewrote (a practice's item after its check-ins changed): the
    index must catch up with them."""

    keys: tuple[str, ...]


E = TypeVar("E")


class Events:
    def __init__(self) -> None:
        self._handlers: defaultdict[type[Any], list[Callable[[Any], Awaitable[object]]]] = (
            defaultdict(list)
        )

    def subscribe(self, kind: type[E], handler: Callable[[E], Awaitable[object]]) -> None:
        self._handlers[kind].append(handler)

    async def publish(self, event: object) -> None:
        for handler in self._handlers[type(event)]:
            await handler(event)
