"""A request for recommendations, in one form per meaning (what the cache is keyed by), and the
envelope its answer is sent in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ai_backend.db.models import User
from ai_backend.recommend.reasons import Phrases, ReasonLocale, reason_locale
from ai_backend.recommend.schemas import CacheState, Target


@dataclass(frozen=True)
class RecommendRequest:
    user_id: str
    target: Target = "items"
    limit: int = 10
    kinds: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # The language of the reasons; None: the member's profile decides.
    locale: ReasonLocale | None = None

    @classmethod
    def normalised(
        cls,
        user_id: str,
        target: Target,
        limit: int,
        kinds: Sequence[str],
        exclude: Sequence[str],
        locale: ReasonLocale | None = None,
    ) -> RecommendRequest:
        """One form per meaning: kinds and exclusions as sorted sets."""
        return cls(
            user_id,
            target,
            limit,
            tuple(sorted(set(kinds))),
            tuple(sorted(set(exclude))),
            locale,
        )

    def phrases(self, user: User) -> Phrases:
        return Phrases(self.locale or reason_locale(user.locale))

    def cache_key(self) -> str:
        # A locale left to the profile is part of the profile: a profile change invalidates.
        raw = json.dumps(
            [self.target, self.limit, sorted(self.kinds), sorted(self.exclude), self.locale],
            sort_keys=True,
        )
        return f"{self.target}:{hashlib.sha256(raw.encode()).hexdigest()[:20]}"


def envelope(cache: CacheState, degraded: bool, body: bytes) -> bytes:
    head = b'{"cache":"' + cache.encode() + b'","degraded":' + (b"true" if degraded else b"false")
    return head + b"," + body + b"}"
