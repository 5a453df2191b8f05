"""Language and script: Taiwan's characters and punctuation for a zh-TW answer (OpenCC
`s2twp`), what a Simplified-only or stray character is, and whether an answer is in its
locale's language."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from ai_backend.feedback.grounds import HAN, LATIN_WORD, Grounds, bigrams, stem
from ai_backend.feedback.prompts import Locale

FOREIGN_SCRIPT = re.compile(r"[\u3040-\u30ff\uac00-\ud7af\u0400-\u04ff]")  # kana, Hangul, Cyrillic


ENGLISH_WORDS = frozenset(
    "the a an you your you're and to of in on for with it is are was this that keep "
    "today day days time what how".split()
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


def full_width(text: str) -> str:
    return HAN_THEN_ASCII.sub(lambda m: HALF_WIDTH.get(m.group(1), "。"), text)


@cache
def _to_taiwan_characters() -> Any:
    import opencc

    return opencc.OpenCC("s2tw")


def in_big5(char: str) -> bool:
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
        {c for c in HAN.findall(text) if not in_big5(c) and convert(c) != c},
    )


def wrong_script(text: str, locale: Locale, grounds: Grounds) -> bool:
    """Whether a zh-TW `text` holds a Simplified-only character or a strange one."""
    return locale == "zh-TW" and bool(simplified_only(text) or _strange_characters(text, grounds))


def _strange_characters(text: str, grounds: Grounds) -> bool:
    """Whether `text` holds a Han character outside Big5 that the member data does not: Taiwan
    writes in Big5's characters, so one outside it is a Japanese form (畳) or a slip, unless
    the member wrote it."""
    return any(not in_big5(c) and c not in grounds.characters for c in HAN.findall(text))


def language_ok(text: str, locale: Locale, grounds: Grounds) -> bool:
    if FOREIGN_SCRIPT.search(text):
        return False
    han = len(HAN.findall(text))
    words = LATIN_WORD.findall(text)
    if locale == "en":
        # Chinese quoted from the member data (a title, a tag) is fine; other Chinese is not.
        own = sum(1 for bigram in bigrams(text) if bigram not in grounds.quoted)
        english = sum(1 for w in words if w.lower() in ENGLISH_WORDS)
        return own <= 2 and english >= 3
    latin = sum(len(w) for w in words if stem(w) not in grounds.words)
    return han >= 10 and han >= 2 * latin
