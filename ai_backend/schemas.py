"""What every request body shares: unknown fields refused, and text PostgreSQL can store.

PostgreSQL text cannot hold NUL, and a lone surrogate (valid in JSON's `\\ud800`, not in UTF-8)
cannot be encoded at all; other control characters are noise no member typed. Each is refused
with a 422 naming the field, before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ai_backend.domain import ID_PATTERN, WriteStatus

# An id the main backend gives (a member, an item, a practice), in a path or a body.
EntityId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
# A BCP 47 language tag: zh-TW, en, yue-Hant.
Language = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=16)
]
# A tag of an item, a practice or a check-in, and the list of them.
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Tags = Annotated[list[Tag], Field(max_length=50)]

# NUL, and halves of surrogate pairs on their own.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def listed(values: Sequence[str] | None) -> list[str]:
    """A query parameter's values, repeated or comma-separated (`a,b&x=c`), trimmed, without
    blanks or repeats, in order."""
    named = (part.strip() for value in values or () for part in value.split(","))
    return list(dict.fromkeys(name for name in named if name))


def unstorable(value: object) -> str | None:
    """The first character of `value` (a string, or strings within lists) that is refused."""
    if isinstance(value, str):
        found = UNSTORABLE.search(value)
        return found.group() if found else None
    if isinstance(value, list | tuple):
        for entry in value:
            if (character := unstorable(entry)) is not None:
                return character
    return None


class RequestBody(BaseModel):
    """A request body: unknown fields and unstorable characters are 422s."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if (character := unstorable(value)) is not None:
            what = "the NUL character" if character == "\x00" else "a lone surrogate"
            raise ValueError(
                f"must not contain {what} (U+{ord(character):04X}), which no UTF-8 text "
                "column can store; remove it"
            )
        return value


# What an upsert did to one record (no docstring: it would change the OpenAPI document).
class WriteResult(BaseModel):
    id: str
    status: WriteStatus
    error: str | None = None
