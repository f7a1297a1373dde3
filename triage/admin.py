"""Mismatch triage admin: the list operators live in, its actions, the mismatch page and a dashboard."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin_scoping import TenantScopedAdminMixin
from aosproject.plurals import counted
from traces.admin_trace_page import short_id, utc_time
from triage import admin_groups  # noqa: F401  (registers the mismatch group admin)
from triage.admin_bulk import bulk_resolve_apply, bulk_resolve_plan
from triage.admin_groups import GroupResolveForm
from triage.admin_list import AgentListFilter, ResolvedListFilter, SkillListFilter, copyable_id, two_line_time
from triage.admin_page import MismatchPageActionsMixin, page_context
from triage.github import GitHubError
from triage.models import Mismatch, NotificationState
from triage.notify import NO_CHANNEL, mismatch_issue_file, notification_requeue
from triage.presentation import dashboard_numbers, mismatch_sides, mismatch_totals
from triage.services import GitHubNotConfigured, mismatch_bulk_report

STATE_COLOURS = {"pending": "#b26a00", "sent": "#1e7e34", "failed": "#c62828"}


@admin.register(Mismatch)
class MismatchAdmin(MismatchPageActionsMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    # Fits 1400 px next to the navigation and the filters (tests/triage/test_list_width_browser.py):
    # ids shortened (whole on hover, a copy button), the step with its skill, the time on two lines.
    list_display = [
        "created",
        "trace_link",
        "step",
        "reason_code",
        "notification",
        "issue_link",
        "resolved",
        "tenant_slug",
    ]
    list_display_links = ["created"]
    list_filter = [
        ResolvedListFilter,
        AgentListFilter,
        SkillListFilter,
        "reason",
        "source",
        "notification_state",
        "notification_channel",
        ("tenant", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = [
        "id",
        "trace__trace_id",
        "trace__run_id",
        "trace__agent_id",
        "skill_id",
        "reason",
        "expected_hash",
        "actual_hash",
        "fingerprint",
    ]
    search_help_text = "Mismatch, trace or run id, agent, skill, reason, expected/actual hash or fingerprint."
    list_select_related = ["trace", "tenant"]
    list_per_page = 50
    ordering = ["-created_at"]
    actions = ["file_github_issue", "file_one_issue_for_selected", "resolve_with_note", "retry_notification"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "tenant",
                    "recorded",
                    "trace_full",
                    "group_link",
                    "step_index",
                    "skill_id",
                    "reason",
                    "reported_by",
                    "source",
                ]
            },
        ),
        ("Hashes", {"fields": ["expected_hash", "actual_hash", "fingerprint"]}),
        (
            "Notification",
            {
                "fields": [
                    "notification_state",
                    "notification_channel",
                    "notification_attempts",
                    "notification_last_error",
                    "next_attempt",
                    "issue_link",
                ]
            },
        ),
        ("Resolution", {"fields": ["resolved", "resolved_time", "resolved_by", "resolution_note"]}),
        ("Details", {"fields": ["details"], "classes": ["collapse"]}),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)  # changes happen through the actions only

    class Media:
        css = {"all": ["triage/sides.css", "triage/mismatch.css", "traces/trace_page.css"]}
        js = ["traces/trace_page.js"]  # the copy buttons (button.aos-copy) of the trace page

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "triage_mismatch_changelist":
            # The list shows none of the JSON: neither the mismatch's details nor its trace's content.
            qs = qs.defer("details", "trace__plan", "trace__input", "trace__metadata", "trace__error_message")
        return qs

    # --- columns --------------------------------------------------------------------------------
    @admin.display(description="recorded", ordering="created_at")
    def created(self, obj):
        return two_line_time(obj.created_at)

    @admin.display(description="trace / agent", ordering="trace__trace_id")
    def trace_link(self, obj):
        try:
            url = reverse("admin:traces_trace_change", args=[obj.trace_id])
        except NoReverseMatch:
            url = ""
        trace = copyable_id(obj.trace.trace_id, keep=10, url=url, css="trace-link")
        if not obj.trace.agent_id:
            return trace
        agent = short_id(obj.trace.agent_id, keep=16)
        return format_html('{}<br><small class="aos-mismatch-agent">{}</small>', trace, agent)

    @admin.display(description="recorded")
    def recorded(self, obj):
        return utc_time(obj.created_at)

    @admin.display(description="resolved at")
    def resolved_time(self, obj):
        return utc_time(obj.resolved_at)

    @admin.display(description="next attempt")
    def next_attempt(self, obj):
        return utc_time(obj.notification_next_attempt_at)

    @admin.display(description="trace")
    def trace_full(self, obj):
        url = reverse("admin:traces_trace_change", args=[obj.trace_id])
        trace = copyable_id(obj.trace.trace_id, keep=200, url=url, css="trace-link")  # the page has room
        agent = f" · agent {obj.trace.agent_id}" if obj.trace.agent_id else ""
        return format_html("{}{}", trace, agent)

    @admin.display(description="reason", ordering="reason")
    def reason_code(self, obj):
        # Every row is a mismatch: "step_count_mismatch" reads "step count" (the whole name on hover).
        short = obj.reason.removesuffix("_mismatch").replace("_", " ")
        return format_html('<span title="{}">{}</span>', obj.get_reason_display(), short)

    @admin.display(description="tenant", ordering="tenant__slug")
    def tenant_slug(self, obj):
        slug = obj.tenant.slug
        if len(slug) <= 11:
            return slug
        return format_html('<span title="{}">{}…</span>', slug, slug[:10])  # proportional: narrower than an id

    @admin.display(description="step", ordering="step_index")
    def step(self, obj):
        if not obj.skill_id:
            return str(obj.step_index)
        return format_html("{}<br><small>{}</small>", obj.step_index, short_id(obj.skill_id, keep=9))

    @admin.display(description="issue")
    def issue_link(self, obj):
        if not obj.issue_url:
            return "—"
        label = f"#{obj.issue_number}" if obj.issue_number else "issue"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" class="issue-link">{}</a>', obj.issue_url, label
        )

    @admin.display(description="Group")
    def group_link(self, obj):
        if obj.group_id is None:
            return "—"
        url = reverse("admin:triage_mismatchgroup_change", args=[obj.group_id])
        return format_html('<a href="{}" class="group-link">group #{}</a>', url, obj.group_id)

    @admin.display(description="notified", ordering="notification_state")
    def notification(self, obj):
        if obj.notification_state == NotificationState.PENDING and obj.notification_last_error == NO_CHANNEL:
            return format_html(
                '<span class="no-channel" style="color:{};font-weight:600" title="{}">'
                "pending · no channel configured</span>",
                STATE_COLOURS["pending"],
                NO_CHANNEL,
            )
        channel = "" if obj.notification_channel == "none" else f" · {obj.get_notification_channel_display()}"
        return format_html(
            '<span style="color:{};font-weight:600" title="{}">{}</span>{}',
            STATE_COLOURS.get(obj.notification_state, "inherit"),
            obj.notification_last_error,
            obj.notification_state,
            channel,
        )

    # --- pages ----------------------------------------------------------------------------------
    def get_urls(self):
        dashboard = path(
            "dashboard/", self.admin_site.admin_view(self.dashboard_view), name="triage_mismatch_dashboard"
        )
        return [dashboard, *self.page_urls(), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        # Only the totals: the per-tenant and per-day queries are the dashboard's.
        numbers = mismatch_totals(self.get_queryset(request), now=timezone.now())
        extra = {"mismatch_counts": numbers, **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: changes happen through the page's buttons, so no Save buttons.
        if request.method == "POST":
            raise PermissionDenied  # nothing is saved through the form
        request._aos_mismatch = self.visible_mismatch(request, object_id)  # 404 outside the user's tenants
        extra = {"show_save": False, "show_save_and_continue": False, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_object(self, request, object_id, from_field=None):
        cached = getattr(request, "_aos_mismatch", None)
        if cached is not None and str(cached.pk) == str(object_id):
            return cached  # change_view's own fetch: no second query
        queryset = self.get_queryset(request).select_related("trace", "tenant", "group")
        model = queryset.model
        field = model._meta.pk if from_field is None else model._meta.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (model.DoesNotExist, ValidationError, ValueError):
            return None

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:  # the object change_view already loaded: no second fetch
            context["sides"] = mismatch_sides(obj)
            context.update(page_context(obj, can_act=self.has_change_permission(request, obj)))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        numbers = dashboard_numbers(self.get_queryset(request), now=timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "title": "Mismatch dashboard",
            "opts": self.model._meta,
            **numbers,
        }
        return TemplateResponse(request, "admin/triage/mismatch/dashboard.html", context)

    # --- actions --------------------------------------------------------------------------------
    # Each action receives only the selected mismatches of tenants where the user is an operator
    # (TenantScopedAdminMixin scopes every action by its declared permission and names the rest).
    @admin.action(description="File GitHub issue", permissions=["change"])
    def file_github_issue(self, request, queryset):
        outcomes: dict[str, int] = defaultdict(int)
        errors = []
        for mismatch_id in queryset.values_list("pk", flat=True):
            result = mismatch_issue_file(mismatch_id=mismatch_id)
            outcomes[result.outcome] += 1
            if result.error:
                errors.append(result.error)
        level = messages.ERROR if outcomes["failed"] else messages.SUCCESS
        summary = (
            f"Filed {counted(outcomes['sent'], 'GitHub issue')}; {outcomes['retry']} will be retried; "
            f"{outcomes['failed']} failed; {outcomes['skipped']} skipped (already linked or in progress)."
        )
        self.message_user(request, summary + (f" Last error: {errors[-1]}" if errors else ""), level)

    @admin.action(description="File one GitHub issue for selected", permissions=["change"])
    def file_one_issue_for_selected(self, request, queryset):
        by_tenant = defaultdict(list)
        rows = queryset.select_related("trace", "tenant").order_by("trace_id", "step_index")
        for mismatch in rows:
            by_tenant[mismatch.tenant_id].append(mismatch)
        who = request.user.get_username()
        for mismatches in by_tenant.values():  # one repository per tenant, so one issue per tenant
            try:
                ref = mismatch_bulk_report(tenant=mismatches[0].tenant, mismatches=mismatches, reported_by=who)
            except (GitHubNotConfigured, GitHubError) as exc:
                self.message_user(request, f"{mismatches[0].tenant}: no issue filed: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    format_html(
                        'Filed <a href="{}">issue #{}</a> for {} of {}.',
                        ref.url,
                        ref.number,
                        counted(len(mismatches), "mismatch", "mismatches"),
                        mismatches[0].tenant,
                    ),
                    messages.SUCCESS,
                )

    @admin.action(description="Resolve with note…", permissions=["change"])
    def resolve_with_note(self, request, queryset):
        # Like the mismatch page (decision 0057): an open group is resolved as a whole, once (0072).
        plan = bulk_resolve_plan(queryset)
        form = GroupResolveForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            kind, note = form.cleaned_data["kind"], form.cleaned_data["note"]
            self.message_user(request, bulk_resolve_apply(plan, kind=kind, note=note, who=request.user.get_username()))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve mismatches",
            "opts": self.model._meta,
            "form": form,
            "plan": plan,
            "mismatches": plan.mismatches,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "resolve_with_note",
            "close_on_resolve": settings.GITHUB_CLOSE_ON_RESOLVE,
        }
        return TemplateResponse(request, "admin/triage/mismatch/resolve_with_note.html", context)

    @admin.action(description="Retry notification", permissions=["change"])
    def retry_notification(self, request, queryset):
        from triage.tasks import mismatch_notify_task

        selected = list(queryset.values_list("pk", "resolved", "notification_state"))  # counted before sending
        resolved = sum(1 for _, is_resolved, _ in selected if is_resolved)
        sent = sum(1 for _, is_resolved, state in selected if not is_resolved and state == NotificationState.SENT)
        ids = notification_requeue(mismatch_ids=[pk for pk, _, _ in selected])
        for mismatch_id in ids:
            transaction.on_commit(lambda m=str(mismatch_id): mismatch_notify_task.delay(m), robust=True)
        parts = [f"Queued {counted(len(ids), 'notification')}"]
        if sent:
            notified = counted(sent, "mismatch", "mismatches")
            parts.append(f"{notified} already notified {'was' if sent == 1 else 'were'} left alone")
        if resolved:
            parts.append(
                f"{counted(resolved, 'resolved mismatch', 'resolved mismatches')} "
                f"{'was' if resolved == 1 else 'were'} not notified "
                "(resolved mismatches are never notified)"
            )
        level = messages.WARNING if resolved and not ids else messages.SUCCESS
        self.message_user(request, "; ".join(parts) + ".", level)
