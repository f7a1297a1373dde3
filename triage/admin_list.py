"""The mismatch list's parts: ids to copy, times to the second in UTC, its filters (unresolved by default)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils.html import format_html

from aosproject.admin_filters import ColumnValuesListFilter
from traces.admin_trace_page import short_id, utc_time


def copyable_id(value: str, *, keep: int = 14, url: str = "", css: str = "") -> str:
    """A long id shortened (whole on hover), linked when `url` is given, with a button copying it whole.

    The button's text is hidden behind an icon (triage/mismatch.css); traces/trace_page.js copies.
    """
    label = short_id(value, keep=keep)
    if url:
        label = format_html('<a href="{}" class="{}">{}</a>', url, css, label)
    if not value:
        return label
    return format_html(
        '<span class="aos-copyable">{}<button type="button" class="aos-copy aos-copy-icon" data-copy="{}" '
        'title="Copy {}" aria-label="Copy {}">copy</button></span>',
        label,
        value,
        value,
        value,
    )


def two_line_time(value) -> str:
    """`2026-12-01` over `13:22:03`, the whole UTC time on hover (the column stays narrow)."""
    if value is None:
        return "—"
    day, time, _ = utc_time(value).split(" ")
    return format_html('<span class="aos-time" title="{} {} UTC">{}<br>{}</span>', day, time, day, time)


class ResolvedListFilter(admin.SimpleListFilter):
    """Opens on what needs triage (unresolved); resolved and "All" one click away. Like the group list."""

    title = "status"
    parameter_name = "status"
    DEFAULT = "unresolved"

    def lookups(self, request, model_admin):
        return [("unresolved", "Unresolved"), ("resolved", "Resolved"), ("all", "All")]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or self.DEFAULT) == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or self.DEFAULT
        if value == "all":
            return queryset
        if value in ("unresolved", "resolved"):
            return queryset.filter(resolved=value == "resolved")
        raise IncorrectLookupParameters(f"status={value!r}: use unresolved, resolved or all.")


class AgentListFilter(ColumnValuesListFilter):
    title = "agent"
    parameter_name = "agent"
    field = "trace__agent_id"


class SkillListFilter(ColumnValuesListFilter):
    title = "skill"
    parameter_name = "skill"
    field = "skill_id"
