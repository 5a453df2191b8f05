"""What an answer must be before a member sees it, checked on every generation.

Each check has a name; an answer that fails one is generated again, and the names go to
`/metrics` and onto the job. The checks read only the answer and the member data the model was
shown (`prompts.Prompt.data`), so "grounded" means grounded in exactly what the model saw.

- `length`: the message with its next step is within the kind's bounds, the message alone holds
  at least half the lower bound, and the next step is one short sentence, counted in 字
  (characters other than spaces) for zh-TW and in words for en.
- `unfinished`: the message ends on a finished sentence, no quotation is left open, and neither
  part stops at the length the output grammar allows (which is how a cut-off answer looks).
- `language`: zh-TW is written in Chinese, en in English; no kana, Hangul or Cyrillic.
- `script`: no Simplified-only character in a zh-TW answer (after the OpenCC conversion), and no
  character outside Big5 that the member data does not hold (a Japanese 畳 for 畫).
- `numbers`: every number stated, in digits or words, appears in the member data; and a count
  of days or of times stands for a count of that kind ("7 天" only where the data holds a day
  number, a length of plan, a gap or a number of check-ins that is 7, or a note's "7 天").
- `grounding`: the answer names something the member did: a word of the practice, its action,
  a tag or a note.
- `streak`: no streaks, consecutive days, rankings or leaderboards (DaoDao removed them).
- `tone`: no blame or pity (可惜, 中斷, lazy, a pity …), no help-desk offers ("feel free
  to ask", 有任何問題…, 我們可以一起…), and no lecture (一定要, 別忘了, "you should",
  "remember,", "… is key").
- `voice`: it speaks to the member ("you"), not about them ("the member", 該成員) nor as them
  (the first person outnumbering the second: "我從第一天開始…").
- `repetition`: no sentence said twice, no phrase looping (small models fall into loops).
- `next_step`: encouragement carries one next step, and it is not the message again.

An answer whose only faults lie in whole sentences (an invented number, a help-desk offer, a
sentence said twice, one too many) is trimmed of them when what is left passes (`trim`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import takewhile
from typing import Any

from ai_backend.domain import FeedbackKind
from ai_backend.feedback.prompts import Prompt

Locale = str

# (fewest, most) 字 of the message for zh-TW and words for en, as DaoDao's specs bound it:
# encouragement 50-150 字, a weekly summary at most 150 字. About two-thirds of an English word
# carries what one 字 does, so 150 字 is about 100 words. The next step is one short sentence.
LENGTH: dict[Locale, dict[str, tuple[int, int]]] = {
    "zh-TW": {
        "checkin_encouragement": (50, 150),
        "weekly_summary": (30, 150),
        "completion_insight": (50, 150),
    },
    "en": {
        "checkin_encouragement": (25, 100),
        "weekly_summary": (20, 100),
        "completion_insight": (25, 100),
    },
}
NEXT_STEP_MAX: dict[Locale, int] = {"zh-TW": 50, "en": 35}
# What the output grammar lets the model write, a little above the bounds above: an answer that
# runs into these was cut off.
GRAMMAR_CHARS: dict[Locale, dict[str, int]] = {
    "zh-TW": {"message": 180, "next_step": 60},
    "en": {"message": 700, "next_step": 240},
}
CHECKS = (
    "schema",
    "length",
    "unfinished",
    "language",
    "script",
    "numbers",
    "grounding",
    "streak",
    "tone",
    "voice",
    "repetition",
    "next_step",
)

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
FOREIGN_SCRIPT = re.compile(r"[\u3040-\u30ff\uac00-\ud7af\u0400-\u04ff]")  # kana, Hangul, Cyrillic
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
# A message that stops at the number of its next list item ("…；2.") was cut off there.
LIST_ITEM_END = re.compile(r"(?:^|[；;，,：:])\s*\d{1,2}[.)、]\s*$")
ENDS_SENTENCE = ("。", "！", "？", "!", "?", ".", "…", "」", "』", "）", ")", "\uff5e", "~")
STREAK = re.compile(
    r"連續|連勝|不間斷|沒有間斷|天天打卡|排行|排名|名次|streak|consecutive|in a row|leaderboard|"
    r"\brank(?:ed|ing|s)?\b|unbroken|"
    # A streak in other words: "保持了每一天的打卡", "一天都沒漏", "never missed a day".
    r"每一?天(?:都|的)?打卡|一天都沒有?(?:漏|缺|停)|沒有?(?:漏|缺)(?:掉|過)?(?:任何)?一天|"
    r"never missed|without missing|every single day",
    re.IGNORECASE,
)
BLAME = re.compile(
    r"可惜|中斷|斷掉|斷了|偷懶|懶惰|失望|不應該|落後|罪惡|pity|shame|lazy|disappoint|lapse|"
    r"slack|fell behind|falling behind|should have|guilt|"
    # A companion that offers itself as a help desk is not what DaoDao's feedback is.
    r"有任何問題|需要幫助|需要協助|隨時告訴我|隨時可以來找我|隨時向我|請告訴我|"
    r"我可以幫(?:助|忙)?你|我(?:會|來)幫你|I can help you|I(?:'d| would) be happy to help|"
    r"feel free to|let me know|reach out|"
    # Nor a chat partner: "如果你有什麼想分享的，也可以跟我聊聊哦" (bench of 2026-12-04).
    r"(?:跟|和|與|同)我(?:聊|分享|說說|講講)|\bshare (?:\w+ )?with me\b|\btell me\b|"
    r"\bI'd love to hear\b|"
    # Nor one that promises to do things with them: feedback is read once, it does not meet.
    r"我們可以一起|我們一起來|(?:we|we'll|let's|let us)\b[^.!?]{0,40}\btogether\b|"
    # Nor one that lectures (DaoDao: 不評價、不說教).
    r"一定要|你必須|要記住|記住，|別忘了|不要忘記|務必|每天都要|請保持|"
    r"\byou should\b|\byou must\b|\byou need to\b|\bremember(?:,| to\b| that\b)|"
    r"\b(?:is|are) (?:the )?key\b|\bdon't forget\b|\bstay hydrated\b",
    re.IGNORECASE,
)
THIRD_PERSON = re.compile(
    # 使用者介面 is a user interface (UI), 使用者體驗 UX: words of a design practice.
    r"成員|(?:用戶|使用者)(?!介面|界面|體驗|經驗|研究|故事|流程)|學員|"
    r"the member|this member|the user(?! interface| experience)|the learner",
    re.IGNORECASE,
)
THIRD_PERSON_ZH = re.compile(r"(?<![其吉])他(?!人)")
FIRST_PERSON = frozenset("i i'm i've me my myself".split())
SECOND_PERSON = frozenset("you you're you've your yours yourself".split())
ENGLISH_WORDS = frozenset(
    "the a an you your you're and to of in on for with it is are was this that keep "
    "today day days time what how".split()
)
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
class Answer:
    message: str
    next_step: str | None


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


def _invents_numbers(text: str, grounds: Grounds) -> bool:
    """Whether `text` states a number, or a count of days or times, the data does not hold."""
    return any(n not in grounds.numbers for n in stated_numbers(text)) or _miscounts(text, grounds)


def _stem(word: str) -> str:
    word = word.lower().strip("'\u2019-")
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _bigrams(text: str) -> Iterator[str]:
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text):
        yield from (run[i : i + 2] for i in range(len(run) - 1))


def _content_words(text: str) -> Iterator[str]:
    for word in LATIN_WORD.findall(text):
        stem = _stem(word)
        if len(stem) >= 3 and stem not in STOPWORDS:
            yield stem


def grounds(data: dict[str, Any], *, extra_numbers: Iterable[int] = ()) -> Grounds:
    """The grounds an answer about `data` may stand on: its numbers (and `extra_numbers`, such as
    the seven days a weekly summary covers), and the words of what the member did."""
    named = [data.get("practice", ""), data.get("action", ""), *data.get("tags", [])]
    named.extend(c.get("note", "") for c in data.get("checkins", []))
    named.extend(t for c in data.get("checkins", []) for t in c.get("tags", []))
    text = " ".join(s for s in named if s)
    strings = [s for s in _leaves(data) if isinstance(s, str)]
    return Grounds(
        numbers=frozenset([1.0, *_numbers_in_data(data), *map(float, extra_numbers)]),
        bigrams=frozenset(_bigrams(text)) - GENERIC_BIGRAMS,
        words=frozenset(_content_words(text)),
        quoted=frozenset(b for s in strings for b in _bigrams(s)),
        characters=frozenset(c for s in strings for c in HAN.findall(s)),
        counts=_counts_in_data(data, strings, extra_numbers),
    )


@cache
def _to_taiwan() -> Any:
    import opencc

    return opencc.OpenCC("s2twp")


def to_taiwan(text: str) -> str:
    """Simplified characters and mainland wording to Taiwan's (OpenCC `s2twp`)."""
    return str(_to_taiwan().convert(text))


HALF_WIDTH = {",": "，", "!": "！", "?": "？", ":": "：", ";": "；"}
# ASCII punctuation right after a Han character (models write "很好,繼續" for 很好，繼續).
HAN_THEN_ASCII = re.compile(r"(?<=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])([,!?:;]|\.(?!\d))")


def _full_width(text: str) -> str:
    return HAN_THEN_ASCII.sub(lambda m: HALF_WIDTH.get(m.group(1), "。"), text)


def localise(answer: Answer, locale: Locale) -> Answer:
    """A zh-TW answer in Taiwan's characters and wording, with Chinese punctuation; en as is."""
    if locale != "zh-TW":
        return Answer(answer.message.strip(), (answer.next_step or "").strip() or None)

    def fix(text: str) -> str:
        return _full_width(to_taiwan(text.strip()))

    return Answer(fix(answer.message), fix(answer.next_step or "") or None)


@cache
def _to_taiwan_characters() -> Any:
    import opencc

    return opencc.OpenCC("s2tw")


def _in_big5(char: str) -> bool:
    try:
        char.encode("cp950")
    except UnicodeEncodeError:
        return False
    return True


def simplified_only(text: str) -> list[str]:
    """The Simplified-only characters of `text`: outside Big5 (cp950, the set Traditional
    Chinese is written in) and changed by OpenCC's `s2tw`. OpenCC alone cannot tell: it also
    changes characters Taiwan writes every day (台, 群, 里); Big5 alone would flag rare
    Traditional characters."""
    convert = _to_taiwan_characters().convert
    return sorted(
        {c for c in HAN.findall(text) if not _in_big5(c) and convert(c) != c},
    )


def _wrong_script(text: str, locale: Locale, grounds: Grounds) -> bool:
    """Whether a zh-TW `text` holds a Simplified-only character or a strange one."""
    return locale == "zh-TW" and bool(simplified_only(text) or _strange_characters(text, grounds))


def _strange_characters(text: str, grounds: Grounds) -> bool:
    """Whether `text` holds a Han character outside Big5 that the member data does not: Taiwan
    writes in Big5's characters, so one outside it is a Japanese form (畳) or a slip, unless
    the member wrote it."""
    return any(not _in_big5(c) and c not in grounds.characters for c in HAN.findall(text))


def measure(text: str, locale: Locale) -> int:
    """Length as DaoDao counts it: 字 (characters other than spaces) or English words."""
    if locale == "en":
        return len(LATIN_WORD.findall(text)) + len(HAN.findall(text))
    return sum(1 for ch in text if not ch.isspace())


def _strip_trailing_symbols(text: str) -> str:
    text = text.rstrip()
    while text and (unicodedata.category(text[-1]) in ("So", "Sk", "Cf") or text[-1].isspace()):
        text = text[:-1]
    return text


def _finished(text: str) -> bool:
    return _strip_trailing_symbols(text).endswith(ENDS_SENTENCE)


QUOTES = (("「", "」"), ("『", "』"), ("\u201c", "\u201d"))


def _open_quote(text: str) -> bool:
    """Whether a quotation opened in `text` is not closed: it was cut off inside a quote."""
    return any(text.count(left) > text.count(right) for left, right in QUOTES)


def _normal(text: str) -> str:
    """`text` in lower case with its runs of spaces made one: what comparisons look at."""
    return " ".join(text.split()).lower()


def _language_ok(text: str, locale: Locale, grounds: Grounds) -> bool:
    if FOREIGN_SCRIPT.search(text):
        return False
    han = len(HAN.findall(text))
    words = LATIN_WORD.findall(text)
    if locale == "en":
        # Chinese quoted from the member data (a title, a tag) is fine; other Chinese is not.
        own = sum(1 for bigram in _bigrams(text) if bigram not in grounds.quoted)
        english = sum(1 for w in words if w.lower() in ENGLISH_WORDS)
        return own <= 2 and english >= 3
    latin = sum(len(w) for w in words if _stem(w) not in grounds.words)
    return han >= 10 and han >= 2 * latin


def _speaks_as_member(text: str, locale: Locale) -> bool:
    """Written as if by the member ("我從第一天開始…", "I finished…") or about them (他做到了…):
    the first or third person outnumbers the second. A companion may say 我很高興 once; it
    talks to 你."""
    if locale == "zh-TW":
        # 他 for the member is as wrong as 我 ("從最初到最後，他做到了…"); not in 其他, 吉他.
        others = len(THIRD_PERSON_ZH.findall(text))
        first, second = text.count("我") - text.count("我們") + others, text.count("你")
    else:
        words = [w.lower() for w in LATIN_WORD.findall(text)]
        first = sum(w in FIRST_PERSON for w in words)
        second = sum(w in SECOND_PERSON for w in words)
    return first > second


def _names_something(text: str, grounds: Grounds) -> bool:
    if any(bigram in grounds.bigrams for bigram in _bigrams(text)):
        return True
    return any(word in grounds.words for word in _content_words(text))


SENTENCE_END = re.compile(r"[。！？!?.；;\n]+")


def _asks(step: str) -> bool:
    """Whether a next step is a question ("下週你打算再做什麼？"): it leaves the step to the
    member instead of giving one."""
    return _strip_trailing_symbols(step.strip()).endswith(("？", "?"))


def _repeats(text: str) -> bool:
    """A sentence said twice, or a stretch said three times: 8 characters of Chinese, or 24 of
    English (where a date such as "November" may well come back)."""
    sentences = [_normal(s) for s in SENTENCE_END.split(text)]
    seen = [s for s in sentences if len(s) >= 4]
    if len(seen) != len(set(seen)):
        return True
    squeezed = "".join(text.split()).lower()
    size = 8 if len(HAN.findall(text)) * 2 >= len(squeezed) else 24
    grams = Counter(squeezed[i : i + size] for i in range(len(squeezed) - size + 1))
    return any(n >= 3 for n in grams.values())


def _similar(a: str, b: str) -> bool:
    a, b = _normal(a), _normal(b)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    # Chinese compared by its characters, English by its words.
    sa, sb = set(_tokens(a)), set(_tokens(b))
    return bool(sa and sb) and len(sa & sb) / len(sa | sb) > 0.8


def _tokens(text: str) -> list[str]:
    return HAN.findall(text) + LATIN_WORD.findall(text)


def prompt_grounds(prompt: Prompt) -> Grounds:
    """The grounds of an answer to `prompt`: its member data and the numbers its task names."""
    return grounds(prompt.data, extra_numbers=prompt.task_numbers)


def check_answer(answer: Answer, prompt: Prompt) -> list[str]:
    """The checks `answer` fails as an answer to `prompt`."""
    facts = prompt_grounds(prompt)
    return failed_checks(answer, kind=prompt.kind, locale=prompt.locale, grounds=facts)


def failed_checks(
    answer: Answer, *, kind: FeedbackKind, locale: Locale, grounds: Grounds
) -> list[str]:
    """The names of the checks `answer` fails, in `CHECKS` order; empty when it may be stored."""
    message = answer.message.strip()
    step = (answer.next_step or "").strip()
    both = f"{message}\n{step}" if step else message
    failed: set[str] = set()
    low, high = LENGTH[locale][kind]
    # DaoDao bounds the feedback as a member reads it: the message with its next step.
    length = measure(message, locale) + measure(step, locale)
    if (
        not low <= length <= high
        or measure(step, locale) > NEXT_STEP_MAX[locale]
        # A message trimmed down to one thin sentence leans on its next step: it says too little.
        or measure(message, locale) < low // 2
    ):
        failed.add("length")
    caps = GRAMMAR_CHARS[locale]
    if (
        not _finished(message)
        or _open_quote(message)
        or _open_quote(answer.next_step or "")
        or LIST_ITEM_END.search(message)
        or len(answer.message) >= caps["message"]
        or len(answer.next_step or "") >= caps["next_step"]
    ):
        failed.add("unfinished")
    if not _language_ok(both, locale, grounds):
        failed.add("language")
    if _wrong_script(both, locale, grounds):
        failed.add("script")
    if _invents_numbers(both, grounds):
        failed.add("numbers")
    if not _names_something(both, grounds):
        failed.add("grounding")
    if STREAK.search(both):
        failed.add("streak")
    if BLAME.search(both):
        failed.add("tone")
    if THIRD_PERSON.search(both) or _speaks_as_member(both, locale):
        failed.add("voice")
    if _repeats(message) or _repeats(step):
        failed.add("repetition")
    if kind == "checkin_encouragement" and not step:
        failed.add("next_step")
    elif step and (_similar(message, step) or _asks(step)):
        failed.add("next_step")
    return [name for name in CHECKS if name in failed]


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
    return _invents_numbers(text, grounds) or _wrong_script(text, locale, grounds)


def _sentence_fault(
    sentence: str, locale: Locale, grounds: Grounds, seen: set[str], step: str
) -> bool:
    key = _normal(sentence)
    if key in seen:
        return True
    seen.add(key)
    return bool(
        _unfounded(sentence, locale, grounds)
        or STREAK.search(sentence)
        or BLAME.search(sentence)
        or THIRD_PERSON.search(sentence)
        # A note quoted as the model's own words: "明天我想試試看…".
        or _speaks_as_member(sentence, locale)
        # "Next step: …" in the message, then the same as the next step.
        or (step and _similar(key, step))
    )


def repair_step(
    step: str | None, locale: Locale, *, cut_off: bool = False, grounds: Grounds | None = None
) -> str | None:
    """A next step as one sentence within its bound: the first of several, or one that runs on
    (or was `cut_off` by the output grammar) taken back to its last whole clause and closed.
    With `grounds`, it stops before the first clause stating a number the data does not hold
    ("明天繼續聽力練習，爭取做到 1000 分。" keeps 明天繼續聽力練習). None when too little would be
    left to be a step, or when the step is a question."""
    if not step or not step.strip():
        return None
    parts = sentences(step)
    first = (parts or [step])[0].strip()
    if _asks(first):
        return None
    whole = not cut_off or len(parts) > 1  # the first sentence ended before the cut
    limit = NEXT_STEP_MAX[locale]
    sound = grounds is None or not _unfounded(first, locale, grounds)
    if whole and sound and measure(first, locale) <= limit:
        return first
    clauses = [c for c in CLAUSE.split(first) if c.strip()]
    if not whole:
        clauses = clauses[:-1]  # the clause the model was cut off in
    if grounds is not None:  # up to the first unfounded clause: what follows leans on it
        clauses = list(takewhile(lambda c: not _unfounded(c, locale, grounds), clauses))
    while clauses and measure("".join(clauses), locale) > limit:
        clauses.pop()
    kept = "".join(clauses).strip().rstrip("，、；,;").strip()
    if measure(kept, locale) < STEP_MIN[locale]:
        return None
    return kept if _finished(kept) else kept + ("。" if locale == "zh-TW" else ".")


def trim(
    answer: Answer, failed: list[str], *, kind: FeedbackKind, locale: Locale, grounds: Grounds
) -> Answer | None:
    """The answer without the sentences (and next-step clauses) that made it fail, if what is
    left passes every check.

    Small models write a good answer and then one sentence too many: an invented number, an
    offer of help, a sentence said again, a last one cut off or over the length, the next step
    said again in the message, a note quoted as their own words, a stray Japanese character, a
    next step that runs on past its one sentence, adds a number or asks a question. Taking those
    out keeps the model's own words; an answer whose fault is elsewhere (its language, a missing
    next step, what it is about) is not trimmed but generated again."""
    if not failed or not set(failed) <= TRIMMABLE:
        return None
    step = answer.next_step
    if step:
        cut_off = len(step) >= GRAMMAR_CHARS[locale]["next_step"]
        step = repair_step(step, locale, cut_off=cut_off, grounds=grounds)
    seen: set[str] = set()
    kept = [
        s
        for s in sentences(answer.message)
        if not _sentence_fault(s, locale, grounds, seen, step or "")
    ]
    while kept and (not _finished(kept[-1]) or _open_quote("".join(kept))):
        kept.pop()
    high = LENGTH[locale][kind][1] - measure(step or "", locale)
    while kept and measure("".join(kept), locale) > high:
        kept.pop()
    trimmed = Answer("".join(kept).strip(), step)
    if not trimmed.message or failed_checks(trimmed, kind=kind, locale=locale, grounds=grounds):
        return None
    return trimmed
