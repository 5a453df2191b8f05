"""A member's learning history as actions: their events plus their check-ins, each check-in
counting as a `checkin` on the practice's item; and what one action says about their taste."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Subquery, cast, literal, select, union_all

from ai_backend.db.models import Checkin
from ai_backend.db.models import Event as EventRow
from ai_backend.domain import practice_item_id

NEGATIVE = frozenset({"dislike", "hide"})
# How much each kind of action on an item says about a member's taste. DaoDao's reactions
# weigh like a like, 啟發 (inspired) and a comment a little more, 好奇 (curious) a little less;
# copying a practice to do it oneself says most.
TYPE_WEIGHTS = {
    "view": 1.0,
    "like": 2.0,
    "bookmark": 2.0,
    "complete": 3.0,
    "checkin": 2.0,
    "cheer": 2.0,
    "inspired": 2.5,
    "resonate": 2.0,
    "curious": 1.5,
    "comment": 2.5,
    "copy": 3.0,
}
SECONDS_PER_DAY = 86_400.0
# Names listed in an error message before "and N more".
SHOWN = 5


def action_weight(type_: str, age_seconds: float, half_life_days: float) -> float:
    """What one action says about a member's taste: its type's weight, decayed over its age
    before the newest action considered. Older actions count less but never less than half:
    on MovieLens a plain 30-day half-life cost a fifth of NDCG@10 (0.30 against 0.376), this
    floor nothing. Training (`recommend/model.py`) and ranking (`recommend/sources.py`)
    both weigh with this."""
    recency = 0.5 + 0.5 * math.pow(0.5, age_seconds / SECONDS_PER_DAY / half_life_days)
    return TYPE_WEIGHTS[type_] * recency


@dataclass(frozen=True, slots=True)
class Action:
    item_id: str
    type: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class History:
    """What a member did, newest first, and everything they must not be shown again."""

    actions: list[Action]
    excluded: frozenset[str]

    @property
    def positive(self) -> list[Action]:
        return [a for a in self.actions if a.type not in NEGATIVE]


def actions_query(user_id: str | None = None) -> Subquery:
    """Events on items and check-ins as one relation of (user_id, item_id, type, occurred_at);
    a follow names a member, not an item, and is not in it."""
    events = select(EventRow.user_id, EventRow.item_id, EventRow.type, EventRow.occurred_at).where(
        EventRow.item_id.is_not(None)
    )
    checkins = select(
        Checkin.user_id,
        literal(practice_item_id("")).concat(Checkin.practice_id),
        literal("checkin"),
        cast(Checkin.checkin_date, DateTime(timezone=True)),
    )
    if user_id is not None:
        events = events.where(EventRow.user_id == user_id)
        checkins = checkins.where(Checkin.user_id == user_id)
    return union_all(events, checkins).subquery("actions")
