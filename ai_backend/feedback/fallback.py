"""Hand-written answers, for when no generation passed the checks.

They are built from the same member data the model saw, so they are grounded in the same facts:
the practice, its action, its tags, and the counts of check-ins and moods. They never quote a
note (a note can carry anything, instructions included). Each is written to pass every check in
`checks.py`; the tests hold them to it.
"""

from __future__ import annotations

from typing import Any

from ai_backend.domain import FeedbackKind
from ai_backend.feedback.checks import Answer
from ai_backend.feedback.prompts import GAP_DAYS, Locale, clip

NAME_CHARS = 30  # of a title or action quoted in a template


def _name(text: str) -> str:
    return clip(text, NAME_CHARS)


def _listing(counts: dict[str, int], locale: Locale, limit: int = 2) -> str:
    top = list(counts.items())[:limit]
    if locale == "en":
        return " and ".join(f"{label} {n} {'time' if n == 1 else 'times'}" for label, n in top)
    return "、".join(f"{label} {n} 次" for label, n in top)


def _zh(kind: FeedbackKind, data: dict[str, Any]) -> Answer:
    title, action = _name(data["practice"]), _name(data["action"])
    total = data.get("checkins_total", 0)
    if kind == "checkin_encouragement":
        gap = data.get("days_since_previous_checkin") or 0
        latest = data["checkins"][-1] if data["checkins"] else {}
        parts = ["歡迎回來！" if gap >= GAP_DAYS else "收到你的打卡了！"]
        parts.append(f"這是你在「{title}」的第 {total} 次打卡")
        parts.append(f"，這次的心情是{latest['mood']}。" if latest.get("mood") else "。")
        if latest.get("tags"):
            parts.append(f"你為它標上了「{latest['tags'][0]}」。")
        parts.append("每一次留下紀錄，都是在為自己累積，照自己的步調走就好。")
        step = f"下次打卡前，先做一小段「{action}」，再寫一句感想。"
        return Answer("".join(parts), step)
    if kind == "weekly_summary":
        week = data["week"]
        parts = [f"這七天你在「{title}」打卡 {week['checkins']} 次"]
        if week["moods"]:
            parts.append(f"，心情有{_listing(week['moods'], 'zh-TW')}")
        if week["tags"]:
            parts.append(f"，最常出現的標籤是「{next(iter(week['tags']))}」")
        parts.append("。這些紀錄一點一滴記下了你走過的路，回頭看就能看見自己的累積。")
        return Answer("".join(parts), "挑一則這週的心得再讀一次，寫下一個想繼續的地方。")
    parts = [f"你完成了「{title}」！"]
    if total:
        parts.append(f"這段期間你打卡了 {total} 次")
        if data["moods"]:
            parts.append(f"，心情有{_listing(data['moods'], 'zh-TW')}")
        parts.append("。")
    parts.append(f"一路做著「{action}」，這份經驗會是你下一段學習的起點。")
    return Answer("".join(parts), "寫下這次實踐中最想留下的一個習慣，帶到下一個計畫。")


def _en(kind: FeedbackKind, data: dict[str, Any]) -> Answer:
    title, action = _name(data["practice"]), _name(data["action"])
    total = data.get("checkins_total", 0)
    times = "check-in" if total == 1 else "check-ins"
    if kind == "checkin_encouragement":
        gap = data.get("days_since_previous_checkin") or 0
        latest = data["checkins"][-1] if data["checkins"] else {}
        parts = ["Welcome back!" if gap >= GAP_DAYS else "Your check-in is in!"]
        parts.append(f' That makes {total} {times} for "{title}"')
        parts.append(f", and this time you felt {latest['mood']}." if latest.get("mood") else ".")
        if latest.get("tags"):
            parts.append(f' You tagged it "{latest["tags"][0]}".')
        parts.append(" Every note you leave adds to what you are building, at your own pace.")
        step = f'Before your next check-in, do a small piece of "{action}" and note one line.'
        return Answer("".join(parts), step)
    if kind == "weekly_summary":
        week = data["week"]
        count = week["checkins"]
        parts = [
            f"In these seven days you checked in {count} {'time' if count == 1 else 'times'} "
            f'for "{title}"'
        ]
        if week["moods"]:
            parts.append(f", feeling {_listing(week['moods'], 'en')}")
        if week["tags"]:
            parts.append(f', and "{next(iter(week["tags"]))}" was your most used tag')
        parts.append(". Together these notes show the path you walked this week.")
        step = "Read one of this week's notes again and write down one thing you want to keep."
        return Answer("".join(parts), step)
    parts = [f'You completed "{title}"!']
    if total:
        parts.append(f" You checked in {total} {'time' if total == 1 else 'times'} along the way")
        if data["moods"]:
            parts.append(f", feeling {_listing(data['moods'], 'en')}")
        parts.append(".")
    parts.append(
        f' Doing "{action}" all the way through is an experience to build the next step on.'
    )
    step = "Write down one habit from this practice that you want to take into your next plan."
    return Answer("".join(parts), step)


def template_answer(kind: FeedbackKind, locale: Locale, data: dict[str, Any]) -> Answer:
    """The hand-written answer of `kind` in `locale`, from the member data of the prompt."""
    return _en(kind, data) if locale == "en" else _zh(kind, data)
