"""Versioned prompt templates, one per kind and locale, filled from a practice and its check-ins.

The templates live in `prompts/` beside this module: a system prompt per locale, and the task
and length wording per kind in `tasks.json`, whose `version` is stored on every job. Everything
the member wrote goes into one JSON block between <member_data> tags, and the system prompt
tells the model to treat it as data. Tags inside the member's own text are defused first, so a
note cannot close the block early.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from ai_backend.domain import FeedbackKind

PROMPTS = Path(__file__).with_name("prompts")
Locale = str  # "zh-TW" or "en"
LOCALES = ("zh-TW", "en")
RECENT = 5  # check-ins shown to the model
# A gap this long gets a welcome back (DaoDao's check-in spec: two days or more). DaoDao removed
# streaks on purpose (they punish a life that gets in the way), so no count of consecutive days
# reaches the model.
GAP_DAYS = 2


@dataclass(frozen=True, slots=True)
class CheckinNote:
    day: date
    mood: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class PracticeFacts:
    title: str
    action: str
    tags: list[str]
    start_date: date | None
    duration_days: int
    checkins: list[CheckinNote]  # oldest first


@cache
def _templates() -> dict[str, Any]:
    tasks: dict[str, Any] = json.loads((PROMPTS / "tasks.json").read_text(encoding="utf-8"))
    tasks["system"] = {
        locale: (PROMPTS / f"system.{locale}.txt").read_text(encoding="utf-8") for locale in LOCALES
    }
    return tasks


def prompt_version() -> str:
    return str(_templates()["version"])


def _defuse(text: str) -> str:
    return text.replace("<member_data>", "<member-data>").replace(
        "</member_data>", "</member-data>"
    )


def member_data(facts: PracticeFacts, today: date) -> dict[str, Any]:
    """What the model may say anything about, and nothing more."""
    days = [c.day for c in facts.checkins]
    day_n = (today - facts.start_date).days + 1 if facts.start_date else None
    recent = facts.checkins[-RECENT:]
    data: dict[str, Any] = {
        "practice": _defuse(facts.title),
        "action": _defuse(facts.action),
        "tags": [_defuse(t) for t in facts.tags],
        "day": min(max(day_n, 1), facts.duration_days) if day_n is not None else None,
        "of_days": facts.duration_days,
        "checkins_total": len(facts.checkins),
        "days_since_last_checkin": (today - max(days)).days if days else None,
        "recent_checkins": [
            {"date": c.day.isoformat(), "mood": c.mood, "note": _defuse(c.note or "")}
            for c in recent
        ],
    }
    return data


def build_messages(
    kind: FeedbackKind, locale: Locale, facts: PracticeFacts, *, today: date
) -> list[dict[str, str]]:
    templates = _templates()
    system = templates["system"][locale].replace("{length}", templates["length"][locale][kind])
    data = member_data(facts, today)
    lines = [
        "<member_data>",
        json.dumps(data, ensure_ascii=False, indent=1),
        "</member_data>",
        templates["task"][locale][kind],
    ]
    gap = data["days_since_last_checkin"]
    if kind == "checkin_encouragement" and len(facts.checkins) > 1:
        previous = facts.checkins[-2].day
        gap = (facts.checkins[-1].day - previous).days
    if gap is not None and gap >= GAP_DAYS:
        lines.append(templates["gap"][locale].replace("{days}", str(gap)))
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]
