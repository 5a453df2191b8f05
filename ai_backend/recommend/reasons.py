"""What a reason says, in the member's language. Codes stay stable; only `detail` is worded.

The member's profile `locale` picks the language (any Chinese locale reads zh-TW, everything
else English); a request's `locale` overrides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

ReasonLocale = Literal["zh-TW", "en"]

MESSAGES: dict[str, dict[ReasonLocale, str]] = {
    # Items
    "fits_practice": {
        "en": "fits your practice {title}",
        "zh-TW": "適合你正在進行的實踐{title}",
    },
    "your_interests": {"en": "your interests: {names}", "zh-TW": "符合你的興趣：{names}"},
    "your_tags": {"en": "your tags: {names}", "zh-TW": "符合你的標籤：{names}"},
    "your_field": {
        "en": "related to your field, {field}",
        "zh-TW": "和你的領域「{field}」有關",
    },
    "shares_learned_tags": {
        "en": "shares tags with what you learned",
        "zh-TW": "和你學過的內容有相同的標籤",
    },
    "close_to_profile": {
        "en": "close to what your profile says",
        "zh-TW": "和你的自我介紹很接近",
    },
    "similar_to": {"en": "similar to {title}", "zh-TW": "和你學過的{title}很像"},
    "went_on_to": {
        "en": "members who engaged with {title} went on to this",
        "zh-TW": "學過{title}的夥伴，接著也學了這個",
    },
    "popular": {"en": "popular with members lately", "zh-TW": "最近很多夥伴在學"},
    # People
    "shares_interests": {
        "en": "shares your interests: {names}",
        "zh-TW": "和你有共同的興趣：{names}",
    },
    "shares_tags": {"en": "shares your tags: {names}", "zh-TW": "和你有相同的標籤：{names}"},
    "same_field": {"en": "also works in {field}", "zh-TW": "也在「{field}」領域"},
    "same_place": {"en": "also learns in {field}", "zh-TW": "也在{field}學習"},
    "is_practising": {"en": "is practising {title}", "zh-TW": "正在進行{title}"},
    "same_items": {
        "en": "learned from {count} of the same items",
        "zh-TW": "和你學過 {count} 個相同的資源",
    },
    "same_template": {
        "en": "is doing the same template: {title}",
        "zh-TW": "也在做同一個主題範本{title}",
    },
    "similar_practice": {
        "en": "is practising something close: {title}",
        "zh-TW": "正在實踐相近的主題{title}",
    },
    "close_profile": {
        "en": "their profile is close to yours",
        "zh-TW": "自我介紹和你很接近",
    },
}
QUOTES: dict[ReasonLocale, tuple[str, str]] = {"en": ("“", "”"), "zh-TW": ("「", "」")}
SEPARATORS: dict[ReasonLocale, str] = {"en": ", ", "zh-TW": "、"}


def reason_locale(profile_locale: str | None) -> ReasonLocale:
    """The language of a member's reasons, from their profile's locale."""
    return "zh-TW" if (profile_locale or "zh-TW").lower().startswith("zh") else "en"


class Phrases:
    """Reason texts in one language."""

    def __init__(self, locale: ReasonLocale) -> None:
        self.locale = locale

    def say(
        self,
        key: str,
        *,
        title: str | None = None,
        names: Sequence[str] = (),
        field: str | None = None,
        count: int | None = None,
    ) -> str:
        opening, closing = QUOTES[self.locale]
        return MESSAGES[key][self.locale].format(
            title=f"{opening}{title}{closing}" if title is not None else "",
            names=SEPARATORS[self.locale].join(names),
            field=field or "",
            count=count,
        )
