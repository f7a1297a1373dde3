"""Admin for traces; the mismatch triage admin is `triage/admin.py`.

The trace list must stay fast on large tables: no full COUNT (estimated or capped counts), the
tenant joined in the same query, heavy JSON columns deferred. Trace pages are read-only: the
header, then the steps as a paginated timeline (`traces/timeline.py`), links to the original,
replays, mismatches and the compare view, and a replay form for operators.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from accounts.admin_scoping import TenantListFilter, TenantScopedAdminMixin
from aosproject.plurals import counted
from runtime.admin_replay import replay_from_admin
from traces.admin_compare import COMPARE_DEFERRED, side_by_side
from traces.admin_filters import AgentListFilter, ErrorCodeListFilter
from traces.admin_parity import ParityListFilter, parity_badge
from traces.admin_trace_page import (
    TRACE_PAGE_DEFERRED,
    ReplayForm,
    lazy_json,
    short_id,
    trace_json_response,
    trace_page_context,
    utc_time,
)
from traces.models import Trace
from traces.services import trace_pin
from traces.timeline import json_pretty

# Above this many rows the unfiltered list shows PostgreSQL's estimate instead of counting.
ESTIMATE_ABOVE = 10_000
# Filtered lists count at most this many rows (pagination stops there; narrow the filter instead).
COUNT_CAP = 50_000


class EstimatedCountPaginator(Paginator):
    """A paginator that never runs an unbounded COUNT(*) over the trace table."""

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not isinstance(qs, QuerySet):
            return super().count
        if connection.vendor == "postgresql" and not qs.query.where:
            with connection.cursor() as cursor:
                sql = "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass"
                cursor.execute(sql, [qs.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] >= ESTIMATE_ABOVE:
                return int(row[0])
        return qs.order_by()[:COUNT_CAP].count()


def pretty_json(value: Any) -> str:
    text, cut = json_pretty(value)
    return format_html(
        '<pre style="white-space: pre-wrap; max-height: 24em; overflow: auto; margin: 0">{}</pre>{}',
        text,
        format_html('<p class="help">The first {:,} characters; the API has the whole value.</p>', len(text))
        if cut
        else "",
    )


@admin.register(Trace)
class TraceAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    # Fits 1400 px next to the navigation and the filters (tests/traces/test_trace_list_browser.py):
    # ids shortened (whole on hover), the run id under the trace id, the source under the status,
    # pinned/redacted as one column. Root and plan hashes: search, and the page.
    list_display = [
        "trace",
        "tenant_slug",
        "source_status",
        "agent",
        "replay_parity",
        "steps",
        "flags",
        "created",
    ]
    list_display_links = ["trace"]
    list_filter = [
        TenantListFilter,
        "source",
        "status",
        ParityListFilter,
        AgentListFilter,
        ErrorCodeListFilter,
        "pinned",
        "redacted",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["^trace_id", "^run_id", "^agent_id", "^root_hash", "^plan_hash"]
    search_help_text = "Trace id, run id, agent, root hash or plan hash (or their beginning)."
    list_select_related = ["tenant"]
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ["-created_at", "-id"]
    actions = ["pin_selected", "unpin_selected", "compare_selected"]
    action_roles = {"pin": "operator", "replay": "operator"}
    change_form_template = "admin/traces/trace/change_form.html"

    class Media:
        css = {"all": ["traces/trace_page.css"]}
        js = ["traces/trace_page.js"]

    # Several fields a line, so the header stays short and the step timeline is near the top.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("trace_id", "run_id"),
                    ("tenant", "source", "status"),
                    ("replay_of", "agent_id"),
                    ("pinned", "redacted"),
                ]
            },
        ),
        ("Hashes", {"fields": [("plan_hash", "seed"), ("root_hash", "frozen_timestamp")]}),
        (
            "Totals",
            {
                "fields": [
                    ("total_steps", "total_cost_cents", "total_duration_ms", "budget_cents"),
                    ("error_code", "error_message"),
                ]
            },
        ),
        ("Times (UTC)", {"fields": [("created", "updated", "finished")]}),
        ("Content", {"fields": ["plan_pretty", "input_pretty", "metadata_pretty"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "traces_trace_changelist":
            qs = qs.defer("plan", "input", "metadata", "error_message")
        return qs

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.fieldsets)

    # Trace content is evidence: nobody edits it here. Pinning is an action (operators).
    def has_change_permission(self, request, obj=None):
        return False

    def has_pin_permission(self, request, obj=None):
        return self.role_permission(request, "pin", obj)

    @admin.display(description="trace / run", ordering="trace_id")
    def trace(self, trace: Trace) -> str:
        if not trace.run_id:
            return short_id(trace.trace_id, keep=12)
        return format_html(
            "{}<br><small>{}</small>", short_id(trace.trace_id, keep=12), short_id(trace.run_id, keep=12)
        )

    @admin.display(description="tenant", ordering="tenant__slug")
    def tenant_slug(self, trace: Trace) -> str:
        slug = trace.tenant.slug
        if len(slug) <= 11:
            return slug
        return format_html('<span title="{}">{}…</span>', slug, slug[:10])  # proportional: narrower than an id

    @admin.display(description="status", ordering="status")
    def source_status(self, trace: Trace) -> str:
        # The status over where the trace came from (run, simulate, replay, ingest): one narrow column.
        return format_html("{}<br><small>{}</small>", trace.get_status_display(), trace.get_source_display().lower())

    @admin.display(description="flags")
    def flags(self, trace: Trace) -> str:
        shown = [name for name, on in (("pinned", trace.pinned), ("redacted", trace.redacted)) if on]
        return format_html("<small>{}</small>", ", ".join(shown)) if shown else "—"

    @admin.display(description="agent", ordering="agent_id")
    def agent(self, trace: Trace) -> str:
        return short_id(trace.agent_id, keep=10)

    @admin.display(description="parity", ordering="parity")
    def replay_parity(self, trace: Trace) -> str:
        return parity_badge(trace)

    @admin.display(description="steps", ordering="total_steps")
    def steps(self, trace: Trace) -> int:
        return trace.total_steps

    @admin.display(description="created", ordering="created_at")
    def created(self, trace: Trace) -> str:
        day, time, _ = utc_time(trace.created_at).split(" ")
        return format_html('<span class="aos-time" title="{} {} UTC">{}<br>{}</span>', day, time, day, time)

    @admin.display(description="updated")
    def updated(self, trace: Trace) -> str:
        return utc_time(trace.updated_at)

    @admin.display(description="finished")
    def finished(self, trace: Trace) -> str:
        return utc_time(trace.finished_at)

    # Loaded when opened (the page reads the trace without its JSON columns).
    @admin.display(description="plan")
    def plan_pretty(self, trace: Trace) -> str:
        return lazy_json(trace, "plan")

    @admin.display(description="input")
    def input_pretty(self, trace: Trace) -> str:
        return lazy_json(trace, "input")

    @admin.display(description="metadata")
    def metadata_pretty(self, trace: Trace) -> str:
        return lazy_json(trace, "metadata")

    @admin.action(description="Pin selected traces (kept by retention)", permissions=["pin"])
    def pin_selected(self, request, queryset):
        self.message_user(request, f"Pinned {counted(trace_pin(traces=queryset, pinned=True), 'trace')}.")

    @admin.action(description="Unpin selected traces", permissions=["pin"])
    def unpin_selected(self, request, queryset):
        self.message_user(request, f"Unpinned {counted(trace_pin(traces=queryset, pinned=False), 'trace')}.")

    @admin.action(description="Compare the two selected traces", permissions=["view"])
    def compare_selected(self, request, queryset):
        pks = list(queryset.values_list("pk", flat=True)[:3])
        if len(pks) != 2:
            self.message_user(request, "Select exactly two traces to compare.", messages.WARNING)
            return None
        url = reverse("admin:traces_trace_compare", args=[pks[0]])
        return HttpResponseRedirect(f"{url}?with_pk={pks[1]}")

    def get_urls(self):
        compare = self.admin_site.admin_view(self.compare_view)
        replay = self.admin_site.admin_view(self.replay_view)
        json_view = self.admin_site.admin_view(self.json_view)
        return [
            path("<path:object_id>/compare/", compare, name="traces_trace_compare"),
            path("<path:object_id>/replay/", replay, name="traces_trace_replay"),
            path("<path:object_id>/json/<str:part>/", json_view, name="traces_trace_json"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        visible = self._visible(request).select_related("replay_of").defer(*TRACE_PAGE_DEFERRED)
        trace = visible.filter(pk=object_id).first() if object_id.isdigit() else None
        if trace is None:  # another tenant's trace is as absent as a deleted one
            raise Http404("No such trace.")
        request._aos_trace = trace
        extra_context = {
            **(extra_context or {}),
            **trace_page_context(trace=trace, query=request.GET, can_replay=self.has_replay_permission(request, trace)),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_object(self, request, object_id, from_field=None):
        # change_view asks for the trace again: serve the one already fetched (one query less).
        cached = getattr(request, "_aos_trace", None)
        if cached is not None and str(cached.pk) == str(object_id):
            return cached
        return super().get_object(request, object_id, from_field)

    def json_view(self, request, object_id: str, part: str):
        """GET: the whole plan/input/metadata of a trace, or a step's params/output (`?step=N`)."""
        if not self.has_view_permission(request):
            raise Http404
        return trace_json_response(
            visible=self.get_queryset(request), object_id=object_id, part=part, step=request.GET.get("step")
        )

    def has_replay_permission(self, request, obj=None):
        return self.role_permission(request, "replay", obj)

    def replay_view(self, request, object_id: str):
        """POST: replays the trace (recorded or live, optionally a dry run) and links the new replay."""
        trace = self._visible(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if trace is None:
            raise Http404("No such trace.")
        page = reverse("admin:traces_trace_change", args=[trace.pk])
        if request.method != "POST":
            return HttpResponseRedirect(page)
        if not self.has_replay_permission(request, trace):
            raise PermissionDenied
        form = ReplayForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Replay refused: {form.errors.as_text()}", messages.ERROR)
            return HttpResponseRedirect(page)
        outcome = replay_from_admin(trace=trace, **form.cleaned_data)
        self.message_user(request, outcome.message, outcome.level)
        return HttpResponseRedirect(outcome.url or page)

    def _visible(self, request) -> QuerySet[Trace]:
        return self.get_queryset(request).select_related("tenant")

    def compare_view(self, request, object_id: str):
        """Two traces side by side, one page of steps (`traces/admin_compare.py`).

        `?with=<trace or run id>` or `?with_pk=<pk>` picks the other trace, `?page=N`, `?step=N`,
        `?only=differing`. A trace the user cannot see, on either side, is a 404.
        """
        if not self.has_view_permission(request):
            raise Http404
        visible = self._visible(request).defer(*COMPARE_DEFERRED)
        trace_a = visible.filter(pk=object_id).first() if object_id.isdigit() else None
        if trace_a is None:
            raise Http404("No such trace.")
        other_id = request.GET.get("with", "").strip()
        other_pk = request.GET.get("with_pk", "").strip()
        trace_b = None
        if other_pk:
            trace_b = visible.filter(pk=other_pk).first() if other_pk.isascii() and other_pk.isdigit() else None
        elif other_id:
            # The same tenant's trace first; platform staff may compare across tenants.
            candidates = list(visible.lookup(other_id[:200])[:20])
            trace_b = next((t for t in candidates if t.tenant_id == trace_a.tenant_id), None) or next(
                iter(candidates), None
            )
        missing = bool(other_id or other_pk) and trace_b is None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Compare trace {trace_a.trace_id}",
            "a": trace_a,
            "b": trace_b,
            "other_id": other_id,
            # Another tenant's trace is as absent as a deleted one: the page says so, with a 404.
            "missing_note": f"No trace {(other_id or other_pk)[:80]!r} that you can see." if missing else "",
            "same_plan": visible.filter(tenant_id=trace_a.tenant_id, plan_hash=trace_a.plan_hash)
            .exclude(pk=trace_a.pk)
            .only("pk", "trace_id", "run_id", "source", "created_at", "tenant__slug")[:10],
        }
        if trace_b is not None:
            context.update(_side_by_side(trace_a, trace_b, request.GET))
        status = 404 if missing else 200
        return TemplateResponse(request, "admin/traces/trace/compare.html", context, status=status)


def _side_by_side(a: Trace, b: Trace, query) -> dict[str, Any]:
    """The compare's summary and one page of steps; the same queries for 100 and 10,000 steps."""
    return side_by_side(a, b, query)
