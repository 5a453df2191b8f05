"""The sentences of a member's note, and the ones that ask someone for something.

Both the prompt's screening (which withholds a sentence written to the model) and the checks
(which fail an answer that says a request back as if it had happened) read notes this way."""

from __future__ import annotations

import re

# A sentence of a note: up to its closing punctuation, or a full stop before a space.
NOTE_SENTENCE = re.compile(
    r"[^。！？!?\n]*?(?:[。！？!?]+|\.(?=\s|$)|\n|$)[」』）)\"'\u201d\u2019]*\s*"
)


def note_sentences(note: str) -> list[str]:
    return [s for s in NOTE_SENTENCE.findall(note) if s.strip()]


# A sentence that asks someone for something (a friend, a teacher, or the model).
REQUEST = re.compile(
    r"請|请|麻煩|麻烦|拜託|拜托|務必|务必|你要|你必須|你必须|你得|給你|给你|"
    r"\b(please|kindly|you must|you should|you need to|you have to|you will|"
    r"(could|can|would|will) (you|your))\b|"
    r"(^|[:;,]\s*|\band\s+)(say|write|put|add|include|mention|repeat|type|print|output|sign|end)\b",
    re.IGNORECASE,
)
