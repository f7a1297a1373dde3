"""Mismatch group admin: the triage list (unresolved first) and a group page with events, diff,
timeline and a Resolve form. Stable hooks for browser tests: `#group-resolve-form` with
`select[name=kind]`, `textarea[name=note]` and `#group-resolve-submit`; `#group-latest-diff`,
`#group-timeline` (`li.group-event.event-<kind>`), `#group-mismatches`, `.group-status-<status>`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from accounts.admin_scoping import TenantScopedAdminMixin
from triage.groups import GroupAlreadyResolved, group_resolve
from triage.models import GroupStatus, MismatchGroup, ResolutionKind
from triage.presentation import mismatch_sides

STATUS_COLOURS = {"unresolved": "#b26a00", "regressed": "#c62828", "resolved": "#1e7e34"}
EVENTS_SHOWN = 200
MISMATCHES_SHOWN = 20


class GroupResolveForm(forms.Form):
    kind = forms.ChoiceField(choices=ResolutionKind.choices)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
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
    list_display = ["group_title", "status_badge", "count", "first_seen", "last_seen", "skill_id", "reason", "issue"]
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
        (None, {"fields": ["tenant", "status", "count", "affected_traces", "first_seen", "last_seen"]}),
        ("Fingerprint", {"fields": ["fingerprint", "plan_hash", "step_index", "skill_id", "reason", "agent_id"]}),
        ("GitHub", {"fields": ["issue"]}),
        ("Resolution", {"fields": ["resolution_kind", "resolution_note", "resolved_by", "resolved_at"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)
    change_form_template = "admin/triage/mismatchgroup/change_form.html"

    class Media:
        css = {"all": ["triage/sides.css"]}  # the latest diff (admin/triage/includes/sides.html)

    # --- columns --------------------------------------------------------------------------------
    @admin.display(description="Group", ordering="step_index")
    def group_title(self, obj):
        return f"Step {obj.step_index} · {obj.reason}"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="group-status group-status-{}" style="color:{};font-weight:600">{}</span>',
            obj.status,
            STATUS_COLOURS.get(obj.status, "inherit"),
            obj.get_status_display(),
        )

    @admin.display(description="Issue")
    def issue(self, obj):
        if not obj.issue_url:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" class="issue-link">#{}</a>', obj.issue_url, obj.issue_number
        )

    # --- the group page ---------------------------------------------------------------------------
    def has_add_permission(self, request, *args):
        return False  # groups are made by mismatches

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"show_save": False, "show_save_and_continue": False, **(extra_context or {})}
        if request.method == "POST" and "resolve" in request.POST:
            return self._resolve(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _resolve(self, request, object_id):
        group = self.get_object(request, object_id)
        if group is None:
            raise PermissionDenied
        if not self.has_change_permission(request, group):
            raise PermissionDenied  # operators of the group's tenant only
        form = GroupResolveForm(request.POST)
        url = reverse("admin:triage_mismatchgroup_change", args=[group.pk])
        if not form.is_valid():
            errors = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
            self.message_user(request, f"Not resolved: {errors}", messages.ERROR)
            return HttpResponseRedirect(url)
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
            mismatches = list(obj.mismatches.select_related("trace").order_by("-created_at")[:MISMATCHES_SHOWN])
            context.update(
                latest=latest,
                sides=mismatch_sides(latest) if latest is not None else None,
                events=list(obj.events.select_related(None).order_by("-created_at", "-id")[:EVENTS_SHOWN])[::-1],
                group_mismatches=[(m, _mismatch_url(m)) for m in mismatches],
                resolve_form=GroupResolveForm() if obj.status != GroupStatus.RESOLVED else None,
                can_resolve=self.has_change_permission(request, obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


def _mismatch_url(mismatch) -> str:
    try:
        return reverse("admin:triage_mismatch_change", args=[mismatch.pk])
    except NoReverseMatch:
        return ""
