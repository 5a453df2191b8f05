"""What an item's index point stands for, read from its row (an ORM object or a row dict): the
text its vectors are made of, its payload, and the fingerprint that says whether the index holds
the point as the row wants it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

# Characters of the description a point keeps for snippets, and of the check-in notes it keeps
# for keyword search and for saying that a note matched.
SNIPPET_SOURCE_CHARS = 500


def item_text(item: Any) -> str:
    """The text the dense vector stands for: title, tags and description."""
    tags = " ".join(f"#{t}" for t in item.tags)
    return f"{item.title}\n{tags}\n{item.description}".strip()


def keyword_text(item: Any) -> str:
    """The text the keyword vector stands for: the dense vector's, and the check-in notes that
    others may read (a practice's only)."""
    notes = getattr(item, "notes", "") or ""
    return f"{item_text(item)}\n{notes}".strip()


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else round(moment.timestamp(), 3)


def item_payload(item: Any) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "title": item.title,
        "text": item.description[:SNIPPET_SOURCE_CHARS],
        "tags": list(item.tags),
        "category": item.category,
        "subcategory": getattr(item, "subcategory", None),
        "level": item.level,
        "language": item.language,
        "url": item.url,
        "image_url": getattr(item, "image_url", None),
        "resource_type": getattr(item, "resource_type", None),
        "cost": getattr(item, "cost", None),
        "owner_id": item.owner_id,
        # A practice's status, length and readable notes; None for other items.
        "status": getattr(item, "status", None),
        "duration_days": getattr(item, "duration_days", None),
        "notes": getattr(item, "notes", "") or "",
        # Seconds since the epoch, for sorting a browse by the latest change or by creation.
        "updated": _epoch(getattr(item, "updated_at", None)),
        "created": _epoch(getattr(item, "created_at", None)),
    }


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def fingerprint(item: Any) -> str:
    """'<text hash>:<payload hash>': equal text hashes need no new embedding. The payload holds
    the notes, so a new note changes the payload hash and the keyword vector is made again."""
    payload = json.dumps(item_payload(item), sort_keys=True, ensure_ascii=False)
    return f"{digest(item_text(item))}:{digest(payload)}"


class RowView:
    """Attribute access over a row dict, so the functions above read rows and ORM objects
    alike."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)
