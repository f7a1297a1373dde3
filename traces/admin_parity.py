"""Parity in the admin lists (issue 19, item 2): a diverged replay never looks like one that matched."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils.html import format_html

from traces.models import Trace, TraceSource

# Colours from the admin's own palette variables, so the dark theme keeps its contrast.
_BADGE = (
    '<span class="aos-parity aos-parity-{}" title="{}" style="display:inline-block;padding:0 .5em;'
    'border-radius:.8em;font-weight:600;white-space:nowrap;color:{};background:{}">{}</span>'
)
_LOOKS = {
    True: ("matched", "Replay matched its original", "var(--body-fg)", "var(--darkened-bg)", "matched"),
    False: ("diverged", "Replay diverged from its original", "#fff", "var(--delete-button-bg, #ba2121)", "diverged"),
}


def parity_badge(trace: Trace) -> str:
    """ "diverged" (red) or "matched" for a replay; an em dash for anything else."""
    if trace.source != TraceSource.REPLAY or trace.parity is None:
        return "—"
    css, title, fg, bg, label = _LOOKS[trace.parity]
    return format_html(_BADGE, css, title, fg, bg, label)


class ParityListFilter(admin.SimpleListFilter):
    """Replays that diverged or matched, or traces that are not replays (`Trace.parity`, indexed)."""

    title = "parity"
    parameter_name = "parity"

    def lookups(self, request, model_admin):
        return [("false", "diverged"), ("true", "matched"), ("none", "not a replay")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(parity__isnull=True)
        if value in ("true", "false"):
            return queryset.filter(parity=value == "true")
        if value is not None:  # the admin answers with its "?e=1" page instead of listing everything
            raise IncorrectLookupParameters(f"parity={value!r}: use true, false or none.")
        return queryset
