"""Counted nouns for admin messages: "1 mismatch", "2 mismatches" (Django's ngettext, so translatable)."""

from __future__ import annotations

from django.utils.translation import ngettext


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """`count` and the noun in the right number: counted(1, "step") == "1 step"."""
    return f"{count} {ngettext(singular, plural or singular + 's', count)}"
