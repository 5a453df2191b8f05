"""Versioned prompt templates, one per kind and locale, filled from a practice and its check-ins.

The templates live in `prompts/` beside this module: a system prompt per locale, and the task
and length wording per kind in `tasks.json`, whose `version` is stored on every job. Everything
the member wrote goes into one JSON block between <member_data> tags; the system prompt tells the
model to treat it as data, and a line after the block says so again. Tags inside the member's own
text are defused first, so a note cannot close the block early.

What each kind is shown (DaoDao's check-in spec):
- encouragement: the latest check-in and the two before it;
- weekly summary: every check-in of the seven days ending on the latest one, with their tags, and
  the counts of moods and tags over those days;
- completion insight: the first and the last check-ins, and the mood counts of the whole practice.

Prompt processing dominates a job's time on a CPU, so notes are clipped to a budget per kind.
DaoDao removed streaks on purpose (they punish a life that gets in the way): no count of
consecutive days reaches the model.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from ai_backend.domain import FeedbackKind

PROMPTS = Path(__file__).with_name("prompts")
Locale = str  # "zh-TW" or "en"
LOCALES = ("zh-TW", "en")
# A gap this long gets a welcome back (DaoDao's check-in spec: two days or more).
GAP_DAYS = 2
WEEK_DAYS = 7
EARLIER = 2  # check-ins before the latest one that encouragement sees
WEEK_MAX = 10  # check-ins a weekly summary shows (a member may check in twice a day)
ENDS = 2  # check-ins from each end that a completion insight shows
# Characters of notes per prompt, shared by the check-ins shown; no note gets fewer than
# NOTE_MIN or more than NOTE_MAX.
NOTES_BUDGET: dict[str, int] = {
    "checkin_encouragement": 420,
    "weekly_summary": 560,
    "completion_insight": 420,
}
NOTE_MIN, NOTE_MAX = 60, 240
MOODS: dict[Locale, dict[str, str]] = {
    "zh-TW": {
        "give_up": "想放棄",
        "frustrated": "挫折",
        "bored": "無聊",
        "neutral": "普通",
        "good": "不錯",
        "happy": "開心",
    },
    "en": {
        "give_up": "ready to give up",
        "frustrated": "frustrated",
        "bored": "bored",
        "neutral": "neutral",
        "good": "good",
        "happy": "happy",
    },
}


@dataclass(frozen=True, slots=True)
class CheckinNote:
    day: date
    mood: str | None
    note: str | None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PracticeFacts:
    title: str
    action: str
    tags: list[str]
    start_date: date | None
    duration_days: int
    checkins: list[CheckinNote]  # oldest first


@dataclass(frozen=True, slots=True)
class Prompt:
    kind: FeedbackKind
    locale: Locale
    messages: list[dict[str, str]]
    # Exactly what the model was shown about the member: the checks ground answers in it.
    data: dict[str, Any]
    # Numbers the task itself names (the seven days of a weekly summary).
    task_numbers: tuple[int, ...] = ()


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


# Notes that talk to the model instead of about the learning ("ignore the instructions above",
# "你現在是…"). They are withheld from the prompt: the model cannot obey what it never reads.
# The system prompt's rule covers the ones these patterns miss.
ADDRESSED_TO_MODEL = re.compile(
    r"(ignore|disregard|forget|override)\b.{0,40}\b(instruction|prompt|rule|above|previous)|"
    r"system prompt|you are now|act as|pretend (to be|you)|(reply|respond|answer|write) only|"
    r"new (task|instructions?)\b|\b(answer|reply|respond) in [A-Z][a-z]+|"
    r"\bsign (it|your answer|off) as\b|"
    r"(忽略|無視|无视|忘記|忘记|不要理會).{0,12}(指示|指令|規則|规则|提示|設定|设定)|"
    r"(忽略|無視|无视)(以上|上面|之前)|"
    r"你現在是|你现在是|扮演|只(回覆|回复|回答|輸出|输出)|系統提示|系统提示|提示詞|提示词|"
    r"(請你|请你|你要|你必須|你必须|請|请).{0,12}(改用|用).{0,6}(回答|回覆|回复|回應|回应|輸出|输出)|"
    r"(回答|回覆|回复)的?(最後|最后|結尾|结尾).{0,8}(加上|寫上|写上)|"
    # A note that tells "the feedback" what to be is written to the model, not about learning.
    r"(請|请|要).{0,6}(把|將|将)?.{0,6}(回饋|回馈|回覆|回复|回應|回应).{0,12}(翻|改|寫|写|用|加)|"
    r"\b(please|must)\b.{0,30}\b(feedback|reply|response)\b",
    re.IGNORECASE,
)


def addressed_to_model(note: str) -> bool:
    return ADDRESSED_TO_MODEL.search(note) is not None


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _shown(kind: FeedbackKind, checkins: list[CheckinNote], today: date) -> list[CheckinNote]:
    if kind == "checkin_encouragement":
        return checkins[-(EARLIER + 1) :]
    if kind == "weekly_summary":
        since = today - timedelta(days=WEEK_DAYS - 1)
        return [c for c in checkins if c.day >= since][-WEEK_MAX:]
    if len(checkins) <= 2 * ENDS:
        return checkins
    return checkins[:ENDS] + checkins[-ENDS:]


def _counts(values: list[str]) -> dict[str, int]:
    return dict(Counter(values).most_common())


def member_data(
    kind: FeedbackKind, locale: Locale, facts: PracticeFacts, today: date
) -> dict[str, Any]:
    """What the model may say anything about, and nothing more."""
    moods = MOODS[locale]
    days = [c.day for c in facts.checkins]
    day_n = (today - facts.start_date).days + 1 if facts.start_date else None
    shown = _shown(kind, facts.checkins, today)
    noted = [c for c in shown if c.note and c.note.strip()]
    per_note = NOTES_BUDGET[kind] // max(1, len(noted))
    per_note = min(NOTE_MAX, max(NOTE_MIN, per_note))
    data: dict[str, Any] = {
        "practice": _defuse(facts.title),
        "action": _defuse(facts.action),
        "tags": [_defuse(t) for t in facts.tags],
    }
    if kind != "weekly_summary":
        # A weekly summary is about its seven days; the whole plan's counts only confused it.
        data["day"] = min(max(day_n, 1), facts.duration_days) if day_n is not None else None
        data["of_days"] = facts.duration_days
        data["checkins_total"] = len(facts.checkins)
    if kind == "weekly_summary":
        since = today - timedelta(days=WEEK_DAYS - 1)
        if facts.start_date is not None:
            since = max(since, min(facts.start_date, today))
        data["week"] = {
            "from": since.isoformat(),
            "to": today.isoformat(),
            "checkins": len(shown),
            "moods": _counts([moods[c.mood] for c in shown if c.mood]),
            "tags": _counts([_defuse(t) for c in shown for t in c.tags]),
        }
    elif kind == "completion_insight":
        data["moods"] = _counts([moods[c.mood] for c in facts.checkins if c.mood])
    if kind == "checkin_encouragement":
        data["days_since_previous_checkin"] = (days[-1] - days[-2]).days if len(days) > 1 else None
    data["checkins"] = [
        {
            "date": c.day.isoformat(),
            # Day N of the practice, so that "第 3 天" is a fact the model reads, not a guess.
            "day": (c.day - facts.start_date).days + 1 if facts.start_date else None,
            "mood": moods[c.mood] if c.mood else None,
            "tags": [_defuse(t) for t in c.tags],
            "note": ""
            if addressed_to_model(c.note or "")
            else _defuse(clip(c.note or "", per_note)),
        }
        for c in shown
    ]
    return data


def build_prompt(
    kind: FeedbackKind, locale: Locale, facts: PracticeFacts, *, today: date
) -> Prompt:
    templates = _templates()
    # One system prompt per locale, the same for every job: llama.cpp reuses its evaluation
    # from one job to the next (the longest common prefix), so only the rest costs time.
    system = templates["system"][locale]
    data = member_data(kind, locale, facts, today)
    lines = [
        "<member_data>",
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        "</member_data>",
        templates["reminder"][locale],
        f"{templates['task'][locale][kind]} {templates['length'][locale][kind]}",
    ]
    gap = data.get("days_since_previous_checkin")
    if gap is not None and gap >= GAP_DAYS:
        lines.append(templates["gap"][locale].replace("{days}", str(gap)))
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": "\n".join(lines)},
    ]
    numbers = (WEEK_DAYS,) if kind == "weekly_summary" else ()
    return Prompt(kind, locale, messages, data, numbers)
