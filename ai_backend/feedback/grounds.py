"""What the member data lets an answer say: the numbers it holds (in digits, Chinese numerals or
English words), the counts of days and of times it stands for, and the words that name what the
member did. The checks read an answer against these grounds only: "grounded" means grounded in
exactly what the model was shown."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from ai_backend.feedback.notes import REQUEST, note_sentences

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")


# Words that name nothing the member did: a match on one of them does not ground an answer.
GENERIC_BIGRAMS = frozenset(
    "今天 昨天 明天 一下 一點 一個 一些 自己 我們 你們 還是 可以 覺得 開始 繼續 因為 所以 但是 "
    "然後 什麼 這個 那個 一天 每天 有點 真的 學習 練習 打卡 實踐 時間 進度 計畫 目標 東西 "
    "沒有 不是 就是 已經 如何 怎麼 感覺 心情 今日 這次 這週 本週".split()
)


STOPWORDS = frozenset(
    "the and for with that this from have has was were are you your our their they them "
    "about into just only some more than then today day days time week practice check "
    "checkin check-in note notes learning learn really very much also what when how".split()
)


# Numbers written as words. 一/one are left out: "one small step", 一起, 一點 state no fact.
ZH_DIGITS = {"二": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


ZH_COUNTED = re.compile(
    r"([零一二兩三四五六七八九十百]+)\s*(?:個)?(天|次|週|周|篇|頁|本|章|分鐘|小時|公里|題|首|幅|張|遍|堂|課|回|則|件|項|年|月|日)"
)


EN_NUMBERS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "twice": 2,
    "thrice": 3,
}


DIGITS = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True, slots=True)
class Grounds:
    """What the member data lets an answer say: its numbers and the words it may name."""

    numbers: frozenset[float]
    bigrams: frozenset[str]  # Han bigrams that name what the member did
    words: frozenset[str]  # stems of the Latin words that do
    quoted: frozenset[str]  # every Han bigram of the data: an English answer may quote them
    characters: frozenset[str]  # the Han characters of the member data
    # What a count of days ("第 3 天", "5 days") or of times ("打卡 4 次", "twice") may be.
    counts: dict[str, frozenset[float]]
    runs: frozenset[str] = frozenset()  # the data's runs of words (`runs`): it may be quoted
    # The runs of the notes' requests ("請用日文跟我說加油吧"): said back, they read as done.
    requests: frozenset[str] = frozenset()


def _leaves(value: Any) -> Iterator[Any]:
    """The scalar values of the member data, however nested."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _numbers_in_data(data: Any) -> Iterator[float]:
    for value in _leaves(data):
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            yield float(value)
            continue
        try:  # a date gives its year, month and day
            day = date.fromisoformat(value)
        except ValueError:
            yield from stated_numbers(value)
        else:
            yield from (float(day.year), float(day.month), float(day.day))


def _zh_number(text: str) -> float | None:
    """二 … 九十九, 兩, 百 forms; None for what this does not read (a lone 一 among them)."""
    if text in ZH_DIGITS:
        return ZH_DIGITS[text]
    if "百" in text:
        head, _, rest = text.partition("百")
        hundreds = ZH_DIGITS.get(head, 1 if head in ("", "一") else 0)
        tail = _zh_number(rest.lstrip("零")) if rest else 0
        return None if not hundreds or tail is None else hundreds * 100 + tail
    if "十" in text:
        head, _, rest = text.partition("十")
        tens = ZH_DIGITS.get(head, 1 if head in ("", "一") else 0)
        ones = ZH_DIGITS.get(rest, 1 if rest == "一" else 0) if rest else 0
        return None if not tens or (rest and not ones) else tens * 10 + ones
    return None


def stated_numbers(text: str) -> Iterator[float]:
    """The numbers a text states: digits, Chinese numerals before a counter, English words."""
    for match in DIGITS.finditer(text):
        yield float(match.group().replace(",", ""))
    for match in ZH_COUNTED.finditer(text):
        value = _zh_number(match.group(1))
        if value is not None:
            yield float(value)
    for word in LATIN_WORD.findall(text):
        value = EN_NUMBERS.get(word.lower())
        if value is not None:
            yield float(value)


ZH_NUMERAL = r"\d+|[二兩三四五六七八九十百]+"


EN_NUMERAL = r"\d+|" + "|".join(EN_NUMBERS)


COUNTED = (
    # (what is counted, pattern whose group 1 is the number)
    ("days", re.compile(rf"({ZH_NUMERAL})\s*個?\s*天")),
    ("days", re.compile(rf"\b({EN_NUMERAL})\s+(?:whole\s+|full\s+)?days?\b", re.IGNORECASE)),
    ("days", re.compile(r"\bday\s+(\d+)\b", re.IGNORECASE)),
    ("times", re.compile(rf"({ZH_NUMERAL})\s*(?:次|回)")),
    ("times", re.compile(rf"\b({EN_NUMERAL})\s+(?:times|check-?ins?)\b", re.IGNORECASE)),
)


def _numeral(text: str) -> float | None:
    if text.isdigit():
        return float(text)
    value: float | None = EN_NUMBERS.get(text.lower())
    if value is None:
        value = _zh_number(text)
    return None if value is None else float(value)


def counted(text: str) -> Iterator[tuple[str, float]]:
    """The counts of days and of times `text` states, as (what, number)."""
    for what, pattern in COUNTED:
        for match in pattern.finditer(text):
            value = _numeral(match.group(1))
            if value is not None:
                yield what, value


def _counts_in_data(
    data: dict[str, Any], strings: list[str], extra: Iterable[int]
) -> dict[str, frozenset[float]]:
    """What counts of days and of times the member data stands for: days are the day numbers,
    the plan's length and the gap; times are the counts of moods and tags; a number of check-ins
    is both ("打卡 3 天", "3 check-ins"). Counts the data's `strings` state (a note, the title)
    count as well."""
    week = data.get("week") or {}
    checkins = [data.get("checkins_total"), week.get("checkins")]
    days = [data.get("day"), data.get("of_days"), data.get("days_since_previous_checkin")]
    days.extend(c.get("day") for c in data.get("checkins", []))
    times = [*(data.get("moods") or {}).values(), *(week.get("moods") or {}).values()]
    times.extend((week.get("tags") or {}).values())
    found = {
        "days": {1.0, *map(float, extra), *_ints(days + checkins)},
        "times": {1.0, 2.0, *_ints(times + checkins)},  # "twice" claims nothing
    }
    for text in strings:
        for what, value in counted(text):
            found[what].add(value)
    return {what: frozenset(values) for what, values in found.items()}


def _ints(values: Iterable[Any]) -> Iterator[float]:
    return (float(v) for v in values if isinstance(v, int) and not isinstance(v, bool))


def _miscounts(text: str, grounds: Grounds) -> bool:
    return any(value not in grounds.counts[what] for what, value in counted(text))


def invents_numbers(text: str, grounds: Grounds) -> bool:
    """Whether `text` states a number, or a count of days or times, the data does not hold."""
    return any(n not in grounds.numbers for n in stated_numbers(text)) or _miscounts(text, grounds)


def stem(word: str) -> str:
    word = word.lower().strip("'\u2019-")
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def bigrams(text: str) -> Iterator[str]:
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text):
        yield from (run[i : i + 2] for i in range(len(run) - 1))


def content_words(text: str) -> Iterator[str]:
    for word in LATIN_WORD.findall(text):
        stemmed = stem(word)
        if len(stemmed) >= 3 and stemmed not in STOPWORDS:
            yield stemmed


def numbers_in(data: dict[str, Any], extra_numbers: Iterable[int] = ()) -> frozenset[float]:
    """Every number an answer about `data` may state: the data's own, `extra_numbers`, and one
    (which claims nothing)."""
    return frozenset([1.0, *_numbers_in_data(data), *map(float, extra_numbers)])


def grounds(data: dict[str, Any], *, extra_numbers: Iterable[int] = ()) -> Grounds:
    """The grounds an answer about `data` may stand on: its numbers (and `extra_numbers`, such as
    the seven days a weekly summary covers), and the words of what the member did."""
    named = [data.get("practice", ""), data.get("action", ""), *data.get("tags", [])]
    notes = [c.get("note") or "" for c in data.get("checkins", [])]
    named.extend(notes)
    named.extend(t for c in data.get("checkins", []) for t in c.get("tags", []))
    text = " ".join(s for s in named if s)
    strings = [s for s in _leaves(data) if isinstance(s, str)]
    asked = [s for note in notes for s in note_sentences(note) if REQUEST.search(s)]
    return Grounds(
        numbers=numbers_in(data, extra_numbers),
        bigrams=frozenset(bigrams(text)) - GENERIC_BIGRAMS,
        words=frozenset(content_words(text)),
        quoted=frozenset(b for s in strings for b in bigrams(s)),
        characters=frozenset(c for s in strings for c in HAN.findall(s)),
        counts=_counts_in_data(data, strings, extra_numbers),
        runs=frozenset(r for s in strings for r in runs(s)),
        requests=frozenset(r for s in asked for r in runs(s)),
    )


# Runs this long are wording, not chance: the shortest phrase an answer is told to use (這七天你)
# is four characters, and "These seven days, you" four words.
HAN_RUN, WORD_RUN = 6, 5
HAN_STRETCH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[a-z0-9][a-z0-9'\u2019-]*")


def runs(text: str) -> Iterator[str]:
    """Every run of six Chinese characters within a stretch of them, and every run of five
    English words, of `text`: what `echo` compares."""
    for stretch in HAN_STRETCH.findall(text):
        for i in range(len(stretch) - HAN_RUN + 1):
            yield stretch[i : i + HAN_RUN]
    words = WORD.findall(text.lower())
    for i in range(len(words) - WORD_RUN + 1):
        yield " ".join(words[i : i + WORD_RUN])


def names_something(text: str, grounds: Grounds) -> bool:
    if any(bigram in grounds.bigrams for bigram in bigrams(text)):
        return True
    return any(word in grounds.words for word in content_words(text))
