"""Admin for alerts received from Alertmanager: read-only, superusers only.

Alerts are about the platform, not one tenant's data (docs/decisions/0011), so tenant staff
never see them, whatever Django permissions they were given.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import formats, timezone
from django.utils.html import format_html

from accounts.admin_scoping import PlatformAdminMixin
from alerts.models import Alert, AlertStatus
from alerts.synthetic import runbook_url
from traces.admin import pretty_json


@admin.register(Alert)
class AlertAdmin(PlatformAdminMixin, admin.ModelAdmin):
    list_display = [
        "alertname",
        "severity",
        "state",
        "tenant_label",
        "injected",
        "starts_at",
        "ends_at",
        "received_at",
        "notifications",
    ]
    list_filter = ["alertname", "severity", "status", "injected"]
    search_fields = ["^fingerprint", "alertname"]
    search_help_text = "Fingerprint (or its beginning) or alert name."
    list_per_page = 50
    show_full_result_count = False  # one COUNT per page, not two
    fieldsets = [
        (None, {"fields": ["alertname", "severity", "status", "tenant_label", "injected", "fingerprint"]}),
        ("Alertmanager", {"fields": ["labels_pretty", "annotations_pretty", "runbook", "source", "receiver"]}),
        ("Times", {"fields": ["starts_at", "ends_at", "received_at", "updated_at", "notifications"]}),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "alerts_alert_changelist":
            qs = qs.defer("labels", "annotations", "generator_url").with_episode_end()  # not shown in the list
        return qs

    def get_urls(self):
        now = self.admin_site.admin_view(self.current_view)
        return [path("now/", now, name="alerts_alert_now"), *super().get_urls()]

    def current_view(self, request):
        """Alerts grouped by fingerprint with their current state; `?state=firing` (default), `resolved`, `all`."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        state = request.GET.get("state", AlertStatus.FIRING)
        if state not in (*AlertStatus.values, "all"):
            state = AlertStatus.FIRING
        rows = Alert.objects.current().defer("labels", "generator_url").order_by("-starts_at", "-id")
        if state != "all":
            rows = rows.filter(status=state)
        page = Paginator(rows, self.list_per_page).get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Alerts firing now" if state == AlertStatus.FIRING else "Alerts by fingerprint",
            "state": state,
            "states": [(AlertStatus.FIRING, "firing now"), (AlertStatus.RESOLVED, "resolved"), ("all", "all")],
            "page": page,
        }
        return TemplateResponse(request, "admin/alerts/alert/now.html", context)

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.fieldsets)

    # Superusers only; alerts arrive only from Alertmanager, so nobody adds, edits or deletes them here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="status", ordering="status")
    def state(self, alert: Alert) -> str:
        """Firing in red only while the episode is open: a resolved episode's firing row reads as history."""
        if alert.status == AlertStatus.RESOLVED:
            return format_html(
                '<span class="aos-alert-resolved" style="color:var(--message-success-fg, #2a7a2a)">{}</span>',
                "resolved",
            )
        if getattr(alert, "episode_resolved", False):
            when = alert.episode_resolved_at
            shown = formats.date_format(timezone.localtime(when), "DATETIME_FORMAT") if when else "later"
            return format_html(
                '<span class="aos-alert-was-firing" style="color:var(--body-quiet-color)">fired, resolved {}</span>',
                shown,
            )
        return format_html(
            '<strong class="aos-alert-firing" style="color:var(--error-fg, #ba2121)">{}</strong>', "firing"
        )

    @admin.display(description="labels")
    def labels_pretty(self, alert: Alert) -> str:
        return pretty_json(alert.labels)

    @admin.display(description="annotations")
    def annotations_pretty(self, alert: Alert) -> str:
        return pretty_json(alert.annotations)

    @admin.display(description="runbook")
    def runbook(self, alert: Alert) -> str:
        # A rule's alert names no URL (the rules serve every environment): its runbook is
        # docs/runbooks/<alertname>.md under this deployment's ALERT_RUNBOOK_BASE_URL.
        url = alert.annotations.get("runbook_url") or (runbook_url(alert.alertname) if alert.alertname else "")
        return _link(str(url))

    @admin.display(description="generator URL")
    def source(self, alert: Alert) -> str:
        return _link(alert.generator_url)


def _link(url: str) -> str:
    # Only web links become anchors: the values come from labels anyone with Alertmanager access can set.
    if url.startswith(("https://", "http://")):
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, url)
    return url or "—"
