"""Two practices the feedback tests write about: a zh-TW member reading a book, an en member
sketching (in the style of DaoDao's public check-in examples)."""

from __future__ import annotations

from datetime import date, timedelta

from ai_backend.feedback.prompts import CheckinNote, PracticeFacts

START = date(2026, 11, 1)
READING = PracticeFacts(
    title="閱讀《People-Based Learning》",
    action="每天讀 10 頁並寫下一個想法",
    tags=["閱讀", "自學"],
    start_date=START,
    duration_days=21,
    checkins=[
        CheckinNote(START, "good", "讀完第一章，作者說學習是關係的累積。", ["閱讀"]),
        CheckinNote(START + timedelta(days=1), "neutral", "今天只讀了5頁，有點累。", ["閱讀"]),
        CheckinNote(
            START + timedelta(days=4), "happy", "第三章講社群，想到島島的讀書會。", ["自學"]
        ),
    ],
)
SKETCHING = PracticeFacts(
    title="Daily sketching",
    action="draw one small thing",
    tags=["drawing"],
    start_date=START,
    duration_days=30,
    checkins=[
        CheckinNote(START, "happy", "sketched the view from my window", ["drawing"]),
        CheckinNote(START + timedelta(days=1), "bored", "only ten minutes today, but I kept going"),
        CheckinNote(START + timedelta(days=5), "good", "tried a new brush and it felt strange"),
    ],
)
