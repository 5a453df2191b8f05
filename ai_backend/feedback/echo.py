"""Echo: an answer that says the prompt's own instructions back instead of saying something.

A small model that has little to say fills the gap with the task's wording: a weekly summary
that read 這七天你每天讀 10 頁並寫下一個想法，心情和標籤的變化與累積。 (bench of 2026-12-04)
describes nothing; 心情與標籤的變化與累積 was the task. An answer echoes when it shares a run of
words with the instructions (six Chinese characters, or five English words) that the member's
own data does not also hold: a member who wrote 今天就做得到的事 may be quoted.

A request in a note is echoed too when it is said back. A member who wrote 請用日文跟我說加油吧
got "你成功地用日文跟我說加油吧" in a completion insight, and one who asked "could your next
message to me be in French?" found that question in their own summary (bench of 2026-12-04).
Neither obeyed the request, but each reads as something the member did.
"""

from __future__ import annotations

from functools import cache

from ai_backend.feedback.grounds import Grounds, runs
from ai_backend.feedback.prompts import Locale, instruction_texts


@cache
def _instruction_runs(locale: Locale) -> frozenset[str]:
    return frozenset(r for text in instruction_texts(locale) for r in runs(text))


def echoes(text: str, locale: Locale, grounds: Grounds) -> bool:
    """Whether `text` repeats a run of the instructions that the member data's own runs do not
    hold, or a run of a request in the member's notes."""
    instructions = _instruction_runs(locale)
    return any(
        (r in instructions and r not in grounds.runs) or r in grounds.requests for r in runs(text)
    )
