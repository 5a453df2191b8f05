"""Trimming: an answer that fails only in whole sentences keeps the rest.

Small models write a good answer and then one sentence too many. Taking that sentence out keeps
the model's own words; an answer whose fault is elsewhere is generated again."""

from __future__ import annotations

import re
from itertools import takewhile

from ai_backend.domain import FeedbackKind
from ai_backend.feedback.checks import (
    BLAME,
    GRAMMAR_CHARS,
    LENGTH,
    NEXT_STEP_MAX,
    STREAK,
    THIRD_PERSON,
    Answer,
    asks,
    failed_checks,
    finished,
    measure,
    normal,
    open_quote,
    similar,
    speaks_as_member,
)
from ai_backend.feedback.echo import echoes
from ai_backend.feedback.grounds import Grounds, invents_numbers
from ai_backend.feedback.prompts import Locale
from ai_backend.feedback.script import wrong_script

# One sentence with its closing punctuation and the spaces after it; a full stop between digits
# (3.5) does not end one.
SENTENCE = re.compile(r"[^。！？!?…\n]*?(?:[。！？!?…]+|\.(?!\d)|\n|$)[」』）)\"'\u201d\u2019]*\s*")


# Faults trimming may remove: a sentence of the message that fails one of these on its own, a
# sentence that says the next step again, a clause of the next step that states what the data
# does not hold, or a next step that runs on past its one sentence.
TRIMMABLE = frozenset(
    {
        "length",
        "unfinished",
        "script",
        "numbers",
        "echo",
        "streak",
        "tone",
        "voice",
        "repetition",
        "next_step",
    }
)


CLAUSE = re.compile(r"(?<=[，、；,;])")


# A next step shorter than this once repaired says too little to be one.
STEP_MIN: dict[Locale, int] = {"zh-TW": 8, "en": 4}


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.findall(text) if s.strip()]


def _unfounded(text: str, locale: Locale, grounds: Grounds) -> bool:
    """Whether `text` states a number or a count the data does not hold, or a character a
    zh-TW answer must not carry."""
    return invents_numbers(text, grounds) or wrong_script(text, locale, grounds)


def _unsound_clause(text: str, locale: Locale, grounds: Grounds | None) -> bool:
    """Whether a clause of a next step must go: it lectures, blames or counts a streak, or
    states what the data does not hold."""
    if BLAME.search(text) or STREAK.search(text):
        return True
    return grounds is not None and _unfounded(text, locale, grounds)


def _sentence_fault(
    sentence: str, locale: Locale, grounds: Grounds, seen: set[str], step: str
) -> bool:
    key = normal(sentence)
    if key in seen:
        return True
    seen.add(key)
    return bool(
        _unfounded(sentence, locale, grounds)
        or STREAK.search(sentence)
        or echoes(sentence, locale, grounds)
        or BLAME.search(sentence)
        or THIRD_PERSON.search(sentence)
        # A note quoted as the model's own words: "明天我想試試看…".
        or speaks_as_member(sentence, locale)
        # "Next step: …" in the message, then the same as the next step.
        or (step and similar(key, step))
    )


def _closed(clauses: list[str], locale: Locale, closing: str = "") -> str | None:
    """The clauses kept of a sentence, without the comma they ended on, closed with `closing`
    (or a full stop when they do not end one); None when too little is left to say anything."""
    kept = "".join(clauses).strip().rstrip("，、；,;").strip()
    if measure(kept, locale) < STEP_MIN[locale]:
        return None
    if closing:
        return kept + closing
    return kept if finished(kept) else kept + ("。" if locale == "zh-TW" else ".")


# A sentence's closing punctuation, with the quotes and spaces after it.
CLOSING = re.compile(r"(?:[。！？!?…]+|\.)?[」』）)\"'\u201d\u2019]*\s*$")


def repair_sentence(sentence: str, locale: Locale, grounds: Grounds) -> str | None:
    """A sentence of the message whose later clause states what the data does not hold, taken
    back to the clauses before it and closed as it was ("你背下了20個單字，今天是第7天，已經完成
    了7/30的進度。" keeps 你背下了20個單字。). None when the first clause is itself unfounded or
    too little is left: then the whole sentence goes."""
    end = CLOSING.search(sentence)
    closing = end.group() if end else ""
    body = sentence[: len(sentence) - len(closing)]
    clauses = [c for c in CLAUSE.split(body) if c.strip()]
    kept = list(takewhile(lambda c: not _unfounded(c, locale, grounds), clauses))
    if len(kept) == len(clauses):
        return None
    text = _closed(kept, locale, closing.strip())
    return text and text + (" " if closing.endswith(" ") else "")


def repair_step(
    step: str | None, locale: Locale, *, cut_off: bool = False, grounds: Grounds | None = None
) -> str | None:
    """A next step as one sentence within its bound: the first of several, or one that runs on
    (or was `cut_off` by the output grammar) taken back to its last whole clause and closed.
    It stops before the first clause that lectures or blames ("…techniques, and remember to
    take breaks too!" keeps the techniques) and, with `grounds`, before the first clause stating
    a number the data does not hold ("明天繼續聽力練習，爭取做到 1000 分。" keeps
    明天繼續聽力練習). A step that ends on a
    question loses the clause that asks it ("明天繼續背單字，看看效果如何？" keeps 明天繼續背單字).
    None when too little would be left to be a step ("下週你打算再做什麼？")."""
    if not step or not step.strip():
        return None
    parts = sentences(step)
    first = (parts or [step])[0].strip()
    whole = not cut_off or len(parts) > 1  # the first sentence ended before the cut
    asked = asks(first)
    limit = NEXT_STEP_MAX[locale]
    sound = not _unsound_clause(first, locale, grounds)
    if whole and sound and not asked and measure(first, locale) <= limit:
        return first
    clauses = [c for c in CLAUSE.split(first) if c.strip()]
    if not whole or asked:
        clauses = clauses[:-1]  # the clause the model was cut off in, or the one that asks
    # Up to the first unsound clause: what follows leans on it.
    clauses = list(takewhile(lambda c: not _unsound_clause(c, locale, grounds), clauses))
    while clauses and measure("".join(clauses), locale) > limit:
        clauses.pop()
    return _closed(clauses, locale)


def trim(
    answer: Answer, failed: list[str], *, kind: FeedbackKind, locale: Locale, grounds: Grounds
) -> Answer | None:
    """The answer without the sentences (and next-step clauses) that made it fail, if what is
    left passes every check.

    Small models write a good answer and then one sentence too many: an invented number, an
    offer of help, a sentence said again, a last one cut off or over the length, the next step
    said again in the message, a note quoted as their own words, a stray Japanese character, a
    next step that runs on past its one sentence, adds a number or asks a question. A sentence
    whose later clause adds a number keeps the clauses before it. Taking those out keeps the
    model's own words; an answer whose fault is elsewhere (its language, a missing next step,
    what it is about) is not trimmed but generated again."""
    if not failed or not set(failed) <= TRIMMABLE:
        return None
    step = answer.next_step
    if step:
        cut_off = len(step) >= GRAMMAR_CHARS[locale]["next_step"]
        step = repair_step(step, locale, cut_off=cut_off, grounds=grounds)
    seen: set[str] = set()
    kept = []
    for sentence in sentences(answer.message):
        if _sentence_fault(sentence, locale, grounds, seen, step or ""):
            repaired = repair_sentence(sentence, locale, grounds)
            if repaired is None or _sentence_fault(repaired, locale, grounds, seen, step or ""):
                continue
            sentence = repaired
        kept.append(sentence)
    while kept and (not finished(kept[-1]) or open_quote("".join(kept))):
        kept.pop()
    high = LENGTH[locale][kind][1] - measure(step or "", locale)
    while kept and measure("".join(kept), locale) > high:
        kept.pop()
    trimmed = Answer("".join(kept).strip(), step)
    if not trimmed.message or failed_checks(trimmed, kind=kind, locale=locale, grounds=grounds):
        return None
    return trimmed
