"""Mismatch group admin: the triage list (unresolved first) and a group page with events, diff,
timeline and a Resolve form. Stable hooks for browser tests: `#group-resolve-form` with
`select[name=kind]`, `textarea[name=note]` and `#group-resolve-submit`; `#group-latest-diff`,
`#group-diverging-step` (`a.group-replay-step`: the replay's trace page at that step),
`#group-timeline` (`li.group-event.event-<kind>`), `#group-mismatches`, `.group-status-<status>`.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from accounts.admin_scoping import TenantScopedAdminMixin
from aosproject.plurals import counted
from traces.models import Trace
from triage.groups import GroupAlreadyResolved, group_resolve
from triage.models import GroupStatus, Mismatch, MismatchGroup, ResolutionKind
from triage.presentation import mismatch_sides


def utc_time(value: dt.datetime | None) -> str:
    """`2026-12-01 13:22:03 UTC`: seconds and the zone."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


STATUS_COLOURS = {"unresolved": "#b26a00", "regressed": "#c62828", "resolved": "#1e7e34"}
EVENTS_SHOWN = 200
MISMATCHES_SHOWN = 20


class GroupResolveForm(forms.Form):
    # No kind preselected: "fixed" reopens on the next mismatch, the others only count; a choice.
    kind = forms.ChoiceField(choices=[("", "Choose a kind…"), *ResolutionKind.choices])
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=10000,
        strip=True,
        help_text="Shown on the group's GitHub issue with the kind.",
    )


class StatusListFilter(admin.SimpleListFilter):
    """Opens on what needs triage (unresolved and regressed); "All" is one click away."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", "Unresolved or regressed"), *GroupStatus.choices, ("all", "All")]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "open") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "open"
        if value == "all":
            return queryset
        if value == "open":
            return queryset.exclude(status=GroupStatus.RESOLVED)
        return queryset.filter(status=value) if value in GroupStatus.values else queryset.none()


@admin.register(MismatchGroup)
class MismatchGroupAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    # Fits 1440 px beside the navigation and the filters: skill and reason live in the Group
    # column, first seen on the last-seen cell's hover (and on the group page).
    list_display = ["group_title", "agent_id", "status_badge", "count", "affected_traces", "seen", "issue"]
    list_display_links = ["group_title"]
    list_filter = [
        StatusListFilter,
        ("tenant", admin.RelatedOnlyFieldListFilter),
        "skill_id",
        "reason",
        "agent_id",
    ]
    search_fields = ["fingerprint", "skill_id", "agent_id", "plan_hash"]
    search_help_text = "Fingerprint, skill, agent or plan hash."
    list_select_related = ["tenant"]
    list_per_page = 50
    ordering = ["-last_seen", "-id"]
    fieldsets = [
        (
            "Details",
            {
                "fields": [
                    "tenant",
                    "fingerprint",
                    "plan_hash",
                    "step_index",
                    "skill_id",
                    "reason",
                    "agent_id",
                    "first_seen",
                    "last_seen",
                    "resolution_kind",
                    "resolution_note",
                    "resolved_by",
                    "resolved_at",
                ],
                "classes": ["collapse"],
            },
        ),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)
    change_form_template = "admin/triage/mismatchgroup/change_form.html"

    class Media:
        css = {"all": ["triage/sides.css"]}  # the latest diff (admin/triage/includes/sides.html)

    # --- columns --------------------------------------------------------------------------------
    @admin.display(description="Group", ordering="step_index")
    def group_title(self, obj):
        return format_html(
            'Step {} · {}<br><small class="group-reason">{}</small>',
            obj.step_index,
            obj.skill_id or "?",
            obj.get_reason_display(),
        )

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="group-status group-status-{}" style="color:{};font-weight:600">{}</span>',
            obj.status,
            STATUS_COLOURS.get(obj.status, "inherit"),
            obj.get_status_display(),
        )

    @admin.display(description="Last seen", ordering="last_seen")
    def seen(self, obj):
        return format_html('<time title="First seen {}">{}</time>', utc_time(obj.first_seen), utc_time(obj.last_seen))

    @admin.display(description="Issue")
    def issue(self, obj):
        if not obj.issue_url:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" class="issue-link">#{}</a>', obj.issue_url, obj.issue_number
        )

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context={"title": "Mismatch groups", **(extra_context or {})})

    # --- the group page ---------------------------------------------------------------------------
    def has_add_permission(self, request, *args):
        return False  # groups are made by mismatches

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {
            "show_save": False,
            "show_save_and_continue": False,
            "title": "Mismatch group",
            **(extra_context or {}),
        }
        # Another tenant's group (or none) is a 404, not the admin's redirect to the index with a
        # message: a group's URL must not tell another tenant that something exists there.
        group = self.get_object(request, unquote(object_id))
        if group is None:
            raise Http404("No such mismatch group.")
        if request.method == "POST" and "resolve" in request.POST:
            return self._resolve(request, group, form_url, extra)
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _resolve(self, request, group, form_url, extra):
        if not self.has_change_permission(request, group):
            raise PermissionDenied  # operators of the group's tenant only
        form = GroupResolveForm(request.POST)
        url = reverse("admin:triage_mismatchgroup_change", args=[group.pk])
        if not form.is_valid():
            errors = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
            self.message_user(request, f"Not resolved: {errors}", messages.ERROR)
            # The page again with the form's errors next to its fields and the note kept. As a GET:
            # the admin's own POST handling would validate and save the (read-only) model form.
            request.method = "GET"
            return super().change_view(request, str(group.pk), form_url, extra_context={**extra, "resolve_form": form})
        try:
            group_resolve(group=group, who=request.user.get_username(), **form.cleaned_data)
        except GroupAlreadyResolved:
            self.message_user(request, "The group was already resolved.", messages.WARNING)
        else:
            kind = ResolutionKind(form.cleaned_data["kind"]).label.lower()
            self.message_user(request, f"Resolved the group as {kind}.", messages.SUCCESS)
        return HttpResponseRedirect(url)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            latest = obj.last_mismatch
            resolve_form = context.get("resolve_form") or GroupResolveForm()
            mismatches = list(obj.mismatches.select_related("trace").order_by("-created_at")[:MISMATCHES_SHOWN])
            context.update(
                status_badge=self.status_badge(obj),
                summary={
                    "mismatches": counted(obj.count, "mismatch", "mismatches"),
                    "traces": counted(obj.affected_traces, "trace"),
                    "first_seen": utc_time(obj.first_seen),
                    "last_seen": utc_time(obj.last_seen),
                    "resolved_at": utc_time(obj.resolved_at),
                    "resolution_kind": obj.get_resolution_kind_display() if obj.resolution_kind else "",
                    "issue": self.issue(obj),
                },
                latest=latest,
                sides=mismatch_sides(latest) if latest is not None else None,
                diverging=diverging_step(latest) if latest is not None else None,
                events=list(obj.events.select_related(None).order_by("-created_at", "-id")[:EVENTS_SHOWN])[::-1],
                group_mismatches=[
                    (m, _mismatch_url(m), reverse("admin:traces_trace_change", args=[m.trace_id])) for m in mismatches
                ],
                resolve_form=resolve_form if obj.status != GroupStatus.RESOLVED else None,
                can_resolve=self.has_change_permission(request, obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


def diverging_step(mismatch: Mismatch) -> dict:
    """Where the mismatch diverged, linked to its replay's trace page at that step (and to the original).

    A replay records its run id in `details.replay_run_id`; a mismatch reported via the API has no
    replay, so only the recorded trace is linked.
    """
    step = mismatch.step_index
    at_step = f"?step={step}#step-{step}"
    details = mismatch.details if isinstance(mismatch.details, dict) else {}
    replay_run_id = details.get("replay_run_id")
    replay = None
    if isinstance(replay_run_id, str) and replay_run_id:
        replay = (
            Trace.objects.for_tenant(mismatch.tenant_id).lookup(replay_run_id).only("pk", "trace_id", "run_id").first()
        )
    change = "admin:traces_trace_change"
    compare = reverse("admin:traces_trace_compare", args=[replay.pk]) if replay else ""
    return {
        "step_index": step,
        "skill_id": mismatch.skill_id,
        "reason": mismatch.get_reason_display(),
        "replay": replay,
        "replay_url": reverse(change, args=[replay.pk]) + at_step if replay else None,
        "original_url": reverse(change, args=[mismatch.trace_id]) + at_step,
        "compare_url": f"{compare}?with_pk={mismatch.trace_id}" if replay else None,
    }


def _mismatch_url(mismatch) -> str:
    try:
        return reverse("admin:triage_mismatch_change", args=[mismatch.pk])
    except NoReverseMatch:
        return ""
