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
- `echo`: it does not say the prompt's instructions back (心情與標籤的變化與累積) in words the
  member data does not hold (`echo.py`).
- `streak`: no streaks, consecutive days, rankings or leaderboards (DaoDao removed them).
- `tone`: no blame or pity (可惜, 中斷, lazy, a pity …), no help-desk offers ("feel free
  to ask", 有任何問題…, 我們可以一起…), and no lecture (一定要, 別忘了, "you should",
  "remember,", "… is key").
- `voice`: it speaks to the member ("you"), not about them ("the member", 該成員) nor as them
  (the first person outnumbering the second: "我從第一天開始…").
- `repetition`: no sentence said twice, no phrase looping (small models fall into loops).
- `next_step`: encouragement carries one next step, and it is not the message again.

The member data an answer may stand on is read in `grounds.py`, language and script in
`script.py`. An answer whose only faults lie in whole sentences (an invented number, a help-desk
offer, a sentence said twice, one too many) is trimmed of them when what is left passes
(`trimming.py`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ai_backend.domain import FeedbackKind
from ai_backend.feedback.echo import echoes
from ai_backend.feedback.grounds import (
    HAN,
    LATIN_WORD,
    Grounds,
    grounds,
    invents_numbers,
    names_something,
)
from ai_backend.feedback.prompts import Locale, Prompt
from ai_backend.feedback.script import full_width, language_ok, to_taiwan, wrong_script

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
    "echo",
    "streak",
    "tone",
    "voice",
    "repetition",
    "next_step",
)


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
    # "如果你有其他問題…，歡迎回來討論哦！" (bench of 2026-12-04).
    r"有(?:任何|其他|什麼|甚麼)?(?:問題|疑問)(?:的話)?[，,]?(?:歡迎|可以|請|都)|如果你?有(?:任何|其他|什麼)?(?:問題|疑問)|"
    r"歡迎(?:隨時)?(?:回來)?(?:討論|提問|詢問|發問|問我|找我)|"
    r"\bif you have (?:any )?(?:other |more |further )?questions\b|\bjust ask\b|"
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


@dataclass(frozen=True, slots=True)
class Answer:
    message: str
    next_step: str | None


# A next step the model filled with a placeholder instead of a step: "None" (bench of
# 2026-12-04), "N/A", 無. It is no step at all.
NO_STEP = re.compile(
    r"\W*(?:none|null|n/?a|nil|nothing|no next step|-+|無|无|沒有|没有|暫無|暂无)\W*", re.IGNORECASE
)


def _step(text: str | None) -> str | None:
    text = (text or "").strip()
    return None if not text or NO_STEP.fullmatch(text) else text


def localise(answer: Answer, locale: Locale) -> Answer:
    """A zh-TW answer in Taiwan's characters and wording, with Chinese punctuation; en as is. A
    placeholder next step ("None", 無) is none."""
    step = _step(answer.next_step)
    if locale != "zh-TW":
        return Answer(answer.message.strip(), step)

    def fix(text: str) -> str:
        return full_width(to_taiwan(text.strip()))

    return Answer(fix(answer.message), fix(step) if step else None)


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


def finished(text: str) -> bool:
    return _strip_trailing_symbols(text).endswith(ENDS_SENTENCE)


QUOTES = (("「", "」"), ("『", "』"), ("\u201c", "\u201d"))


def open_quote(text: str) -> bool:
    """Whether a quotation opened in `text` is not closed: it was cut off inside a quote."""
    return any(text.count(left) > text.count(right) for left, right in QUOTES)


def normal(text: str) -> str:
    """`text` in lower case with its runs of spaces made one: what comparisons look at."""
    return " ".join(text.split()).lower()


SENTENCE_END = re.compile(r"[。！？!?.；;\n]+")


# What a companion may say of itself: that it is glad, moved, looking forward (我很高興看到…,
# 這讓我感到非常欣慰, "I'm glad"). Any other first person is the member's voice.
COMPANION_FEELING = re.compile(
    r"(?:讓|令)?我(?:真的|也|很|非常|好|感到|覺得)*(?:高興|開心|欣慰|期待|佩服|欣賞|感動|替你|為你)|"
    r"\bI(?:'m| am)(?: so| really| very| truly)? (?:glad|happy|proud|excited|impressed|moved|"
    r"delighted)\b|\bI (?:love|enjoyed|liked) (?:how|that|seeing|reading|to see)\b",
    re.IGNORECASE,
)


def _member_voice(sentence: str, locale: Locale) -> bool:
    text = COMPANION_FEELING.sub("", sentence)
    if locale == "zh-TW":
        # 他 for the member is as wrong as 我 ("從最初到最後，他做到了…"); not in 其他, 吉他.
        others = len(THIRD_PERSON_ZH.findall(text))
        first, second = text.count("我") - text.count("我們") + others, text.count("你")
    else:
        words = [w.lower() for w in LATIN_WORD.findall(text)]
        first = sum(w in FIRST_PERSON for w in words)
        second = sum(w in SECOND_PERSON for w in words)
    return first > second


def speaks_as_member(text: str, locale: Locale) -> bool:
    """Whether a sentence of `text` is written as if by the member ("我從第一天開始…", "I
    finished…", 心情上，我感覺很棒) or about them (他做到了…): its first or third person
    outnumbers the second. A companion may say 我很高興; otherwise it talks to 你."""
    return any(_member_voice(s, locale) for s in SENTENCE_END.split(text) if s.strip())


def asks(step: str) -> bool:
    """Whether a next step is a question ("下週你打算再做什麼？"): it leaves the step to the
    member instead of giving one."""
    return _strip_trailing_symbols(step.strip()).endswith(("？", "?"))


def _repeats(text: str) -> bool:
    """A sentence said twice, or a stretch said three times: 8 characters of Chinese, or 24 of
    English (where a date such as "November" may well come back)."""
    sentences = [normal(s) for s in SENTENCE_END.split(text)]
    seen = [s for s in sentences if len(s) >= 4]
    if len(seen) != len(set(seen)):
        return True
    squeezed = "".join(text.split()).lower()
    size = 8 if len(HAN.findall(text)) * 2 >= len(squeezed) else 24
    grams = Counter(squeezed[i : i + size] for i in range(len(squeezed) - size + 1))
    return any(n >= 3 for n in grams.values())


def similar(a: str, b: str) -> bool:
    a, b = normal(a), normal(b)
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
        not finished(message)
        or open_quote(message)
        or open_quote(answer.next_step or "")
        or LIST_ITEM_END.search(message)
        or len(answer.message) >= caps["message"]
        or len(answer.next_step or "") >= caps["next_step"]
    ):
        failed.add("unfinished")
    if not language_ok(both, locale, grounds):
        failed.add("language")
    if wrong_script(both, locale, grounds):
        failed.add("script")
    if invents_numbers(both, grounds):
        failed.add("numbers")
    if not names_something(both, grounds):
        failed.add("grounding")
    if echoes(both, locale, grounds):
        failed.add("echo")
    if STREAK.search(both):
        failed.add("streak")
    if BLAME.search(both):
        failed.add("tone")
    if THIRD_PERSON.search(both) or speaks_as_member(both, locale):
        failed.add("voice")
    if _repeats(message) or _repeats(step):
        failed.add("repetition")
    if kind == "checkin_encouragement" and not step:
        failed.add("next_step")
    elif step and (similar(message, step) or asks(step)):
        failed.add("next_step")
    return [name for name in CHECKS if name in failed]
