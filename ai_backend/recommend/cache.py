"""Cached recommendation responses: Redis shared by all API processes, plus a process-local tier.

Keys are versioned per member. Every action of a member writes a new version token, so all of
their entries stop matching at once; an entry is served only when its token equals the member's
current one. A catalogue generation does the same for everyone when an item leaves the index
(deleted, made private or hidden).

Each entry is fresh for `fresh_seconds`, then served as "stale" while one background task
recomputes it, until Redis expires it at `ttl_seconds`.

The local tier answers without a Redis round trip. It stays correct because each process
subscribes to the invalidation channel: a new token evicts the member's local entries before
anything else, and an entry computed under an older token is refused. While the subscription is
down the local tier is off and empty. The process that records an action evicts at once, so the
member's next request to that process never sees the old list; other processes follow within
the time a Redis message takes to arrive.

Redis down: nothing is cached, answers are computed and marked degraded. Actions recorded
meanwhile could not bump their member's token, so on recovery the catalogue generation is bumped
once, which retires every entry written before the outage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from redis.asyncio import Redis

from ai_backend.infra.cache import follow_channel

logger = logging.getLogger(__name__)
CHANNEL = "reco:invalidate"
GENERATION_KEY = "reco:gen"
VERSION_KEY = "reco:v:{user}"
# Bump when the ranking or the response shape changes: entries of another revision are ignored.
REVISION = "r3"
ENTRY_KEY = "reco:e:" + REVISION + ":{user}:{key}"
LOCK_KEY = "reco:refreshing:{user}:{key}"
# The handles of the entries whose answer is for, or names, this member or item (what erasing a
# member must delete), and what each handle stands for: JSON [user, key].
MENTION_KEY = "reco:m:{subject}"
HANDLE_KEY = "reco:h:{handle}"
# After a Redis error, skip Redis for this long so requests do not each wait for a timeout.
BACKOFF_SECONDS = 1.0
# How recommendation answers were served: hit, stale, miss or degraded (computed without Redis).
ANSWERS = Counter(
    "daodao_recommendation_answers_total", "Recommendation answers by cache state", ["state"]
)
# Version tokens outlive any entry that could match them.
VERSION_TTL_FACTOR = 4


@dataclass(frozen=True, slots=True)
class Entry:
    version: str
    generation: str
    fresh_until: float
    body: bytes  # the response's JSON members after "cache" and "degraded"

    def pack(self) -> bytes:
        head = json.dumps([self.version, self.generation, self.fresh_until]).encode()
        return head + b"\n" + self.body

    @classmethod
    def unpack(cls, raw: bytes) -> Entry:
        head, _, body = raw.partition(b"\n")
        version, generation, fresh_until = json.loads(head)
        return cls(str(version), str(generation), float(fresh_until), body)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the cache knows about one key: the entry to serve, if any, and the tokens to tag a
    newly computed entry with (None when Redis could not be asked)."""

    entry: Entry | None
    stale: bool
    version: str | None
    generation: str | None


class LocalTier:
    """A bounded LRU of entries, evictable per member."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self._by_user: dict[str, set[str]] = {}
        # The newest token announced for a member since the subscription started.
        self._latest: OrderedDict[str, str] = OrderedDict()
        self.generation: str | None = None
        self.enabled = False

    def get(self, user: str, key: str) -> Entry | None:
        if not self.enabled:
            return None
        entry = self._entries.get((user, key))
        if entry is not None:
            self._entries.move_to_end((user, key))
        return entry

    def put(self, user: str, key: str, entry: Entry) -> None:
        if not self.enabled or self.capacity == 0:
            return
        latest = self._latest.get(user)
        if (latest is not None and entry.version != latest) or entry.generation != self.generation:
            return  # computed under a token that has since been replaced
        self._entries[(user, key)] = entry
        self._entries.move_to_end((user, key))
        self._by_user.setdefault(user, set()).add(key)
        while len(self._entries) > self.capacity:
            (old_user, old_key), _ = self._entries.popitem(last=False)
            keys = self._by_user.get(old_user)
            if keys is not None:
                keys.discard(old_key)
                if not keys:
                    del self._by_user[old_user]

    def evict_user(self, user: str, version: str | None = None) -> None:
        for key in self._by_user.pop(user, set()):
            self._entries.pop((user, key), None)
        if version is not None:
            self._latest[user] = version
            self._latest.move_to_end(user)
            while len(self._latest) > max(self.capacity, 1) * 4:
                self._latest.popitem(last=False)

    def reset(self, *, enabled: bool, generation: str | None = None) -> None:
        self._entries.clear()
        self._by_user.clear()
        self._latest.clear()
        self.generation = generation
        self.enabled = enabled


class RecommendationCache:
    def __init__(
        self,
        redis: Redis,
        *,
        fresh_seconds: int,
        ttl_seconds: int,
        local_entries: int,
    ) -> None:
        self.redis = redis
        self.fresh_seconds = fresh_seconds
        self.ttl_seconds = ttl_seconds
        self.local = LocalTier(local_entries)
        self._down_until = 0.0
        self._dirty = False  # an invalidation was lost while Redis was down
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._refreshing: set[tuple[str, str]] = set()

    # -- Redis health -----------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        if self.available:
            logger.warning("recommendation cache unavailable: %s", exc)
        self._down_until = time.monotonic() + BACKOFF_SECONDS

    async def _recover(self) -> None:
        """After an outage during which invalidations were lost, retire every older entry."""
        if self._dirty:
            generation = str(time.time_ns())
            await self.redis.set(GENERATION_KEY, generation)
            await self.redis.publish(CHANNEL, f"g:{generation}")
            self._dirty = False
            logger.info("recommendation cache generation bumped after an outage")

    # -- reads ------------------------------------------------------------------------------

    async def lookup(self, user: str, key: str) -> Lookup:
        now = time.time()
        local = self.local.get(user, key)
        if local is not None:
            return Lookup(local, now >= local.fresh_until, local.version, local.generation)
        if not self.available:
            return Lookup(None, False, None, None)
        try:
            await self._recover()
            version_key = VERSION_KEY.format(user=user)
            raw_version, raw_generation, raw_entry = await self.redis.mget(
                version_key, GENERATION_KEY, ENTRY_KEY.format(user=user, key=key)
            )
            if raw_version is None:
                fresh = str(time.time_ns())
                await self.redis.set(
                    version_key, fresh, nx=True, ex=self.ttl_seconds * VERSION_TTL_FACTOR
                )
                raw_version = await self.redis.get(version_key)
        except Exception as exc:
            self._failed(exc)
            return Lookup(None, False, None, None)
        version = _text(raw_version)
        generation = _text(raw_generation) or "0"
        entry = Entry.unpack(_bytes(raw_entry)) if raw_entry is not None else None
        if entry is None or entry.version != version or entry.generation != generation:
            return Lookup(None, False, version, generation)
        self.local.put(user, key, entry)
        return Lookup(entry, now >= entry.fresh_until, version, generation)

    async def store(
        self, user: str, key: str, lookup: Lookup, body: bytes, mentions: Iterable[str] = ()
    ) -> None:
        """Keep a computed body under the tokens read before it was computed.

        `mentions` are the members and items the body names. The entry gets a random handle,
        which each of them (and the member it is for) remembers, so that erasing one of them
        finds every answer that names it. Only the handle's own key, which expires with the
        entry, says whose entry it is.
        """
        if lookup.version is None or lookup.generation is None or not self.available:
            return
        entry = Entry(lookup.version, lookup.generation, time.time() + self.fresh_seconds, body)
        handle = uuid.uuid4().hex
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(ENTRY_KEY.format(user=user, key=key), entry.pack(), ex=self.ttl_seconds)
                pipe.set(
                    HANDLE_KEY.format(handle=handle), json.dumps([user, key]), ex=self.ttl_seconds
                )
                for subject in {user, *mentions}:
                    pipe.sadd(MENTION_KEY.format(subject=subject), handle)
                    pipe.expire(MENTION_KEY.format(subject=subject), self.ttl_seconds)
                await pipe.execute()
        except Exception as exc:
            self._failed(exc)
            return
        self.local.put(user, key, entry)

    def refresh_in_background(
        self, user: str, key: str, compute: Callable[[], Awaitable[None]]
    ) -> None:
        """Recompute a stale entry once, however many requests see it stale."""
        if (user, key) in self._refreshing:
            return
        self._refreshing.add((user, key))

        async def run() -> None:
            try:
                lock = LOCK_KEY.format(user=user, key=key)
                if await self.redis.set(lock, "1", nx=True, ex=30):
                    await compute()
            except Exception:
                logger.exception("background recommendation refresh failed")
            finally:
                self._refreshing.discard((user, key))

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- invalidation -----------------------------------------------------------------------

    async def invalidate(self, users: Iterable[str]) -> None:
        """A new version token for each member: their entries everywhere stop matching."""
        users = sorted(set(users))
        if not users:
            return
        token = str(time.time_ns())
        for user in users:
            self.local.evict_user(user, token)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user in users:
                    pipe.set(
                        VERSION_KEY.format(user=user),
                        token,
                        ex=self.ttl_seconds * VERSION_TTL_FACTOR,
                    )
                    pipe.publish(CHANNEL, f"u:{user}:{token}")
                await pipe.execute()
        except Exception as exc:
            self._dirty = True
            self._failed(exc)

    async def erase(self, user: str, subjects: Iterable[str]) -> None:
        """Delete the member's entries and every entry that names them or one of `subjects`.

        Raises when Redis cannot be reached: an erasure must not report success while copies
        remain. Members whose answers named the erased one get a new version token, so no API
        process keeps serving its local copy.
        """
        mention_keys = [MENTION_KEY.format(subject=s) for s in sorted({user, *subjects})]
        async with self.redis.pipeline(transaction=False) as pipe:
            for mention_key in mention_keys:
                pipe.smembers(mention_key)
            found = await pipe.execute()
        handle_keys = sorted({HANDLE_KEY.format(handle=_text(h)) for hs in found for h in hs})
        owners = await self.redis.mget(handle_keys) if handle_keys else []
        pairs = {tuple(json.loads(raw)) for raw in owners if raw is not None}
        doomed = [VERSION_KEY.format(user=user), *mention_keys, *handle_keys]
        for owner, key in pairs:
            doomed += [ENTRY_KEY.format(user=owner, key=key), LOCK_KEY.format(user=owner, key=key)]
        await self.redis.delete(*doomed)
        self.local.evict_user(user)
        await self.invalidate({owner for owner, _ in pairs} - {user})

    async def bump_generation(self) -> None:
        """Retire every entry: results may hold an item that left the index."""
        generation = str(time.time_ns())
        self.local.reset(enabled=self.local.enabled, generation=generation)
        try:
            await self.redis.set(GENERATION_KEY, generation)
            await self.redis.publish(CHANNEL, f"g:{generation}")
        except Exception as exc:
            self._dirty = True
            self._failed(exc)

    # -- the subscription that keeps the local tier honest ---------------------------------

    def start(self) -> None:
        if self.local.capacity > 0 and self._listener is None:
            self._listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        async def subscribed() -> None:
            generation = _text(await self.redis.get(GENERATION_KEY)) or "0"
            self.local.reset(enabled=True, generation=generation)

        await follow_channel(
            self.redis,
            CHANNEL,
            self._apply,
            on_subscribed=subscribed,
            on_lost=lambda: self.local.reset(enabled=False),
            reconnect_seconds=BACKOFF_SECONDS,
        )

    def _apply(self, message: str) -> None:
        kind, _, rest = message.partition(":")
        if kind == "u":
            user, _, token = rest.rpartition(":")
            self.local.evict_user(user, token)
        elif kind == "g":
            self.local.reset(enabled=True, generation=rest)

    async def close(self) -> None:
        tasks: list[asyncio.Task[Any]] = [*self._tasks]
        if self._listener is not None:
            tasks.append(self._listener)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
