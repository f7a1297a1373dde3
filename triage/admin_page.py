"""The mismatch page's own buttons and links (issue 19, items 5, 6 and 9).

Resolve (kind and note, the group's kinds), File GitHub issue and Retry notification are POSTs to
views of their own; each refuses what the page does not offer: another tenant's mismatch is a
404, a viewer gets a 403, a resolved mismatch is never notified again. Resolving a mismatch that
belongs to an open group resolves the group, the triage unit (decision 0057). Stable hooks for
tests: `#mismatch-actions`, `#mismatch-resolve-form`, `#mismatch-file-issue`, `#mismatch-retry`,
`#mismatch-links` with `a.replay-link`, `a.compare-link`, `a.group-link`, `a.original-link`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from aosproject.plurals import counted
from traces.models import Trace
from triage.admin_groups import GroupResolveForm
from triage.groups import GroupAlreadyResolved, group_resolve
from triage.models import GroupStatus, Mismatch, NotificationState, ResolutionKind
from triage.notify import mismatch_issue_file, notification_requeue
from triage.services import AlreadyResolved, mismatch_resolve


@dataclass(frozen=True)
class PageLinks:
    original_url: str
    replay: Trace | None
    replay_url: str
    compare_url: str
    group_url: str


def replay_of_mismatch(mismatch: Mismatch) -> Trace | None:
    """The replay that diverged (its run id is in `details`), in the mismatch's tenant; None for API reports."""
    details = mismatch.details if isinstance(mismatch.details, dict) else {}
    run_id = details.get("replay_run_id")
    if not run_id:
        return None
    replays = Trace.objects.for_tenant(mismatch.tenant_id).lookup(str(run_id))
    return replays.only("pk", "trace_id", "run_id", "tenant_id", "source").first()


def page_links(mismatch: Mismatch) -> PageLinks:
    """Original trace, the replay at the diverging step (`?step=N`), the compare view, the group."""
    step = mismatch.step_index
    original = reverse("admin:traces_trace_change", args=[mismatch.trace_id])
    replay = replay_of_mismatch(mismatch)
    replay_url = compare_url = ""
    if replay is not None:
        replay_url = f"{reverse('admin:traces_trace_change', args=[replay.pk])}?step={step}#step-{step}"
        compare = reverse("admin:traces_trace_compare", args=[mismatch.trace_id])
        compare_url = f"{compare}?with_pk={replay.pk}#step-{step}"
    group_url = reverse("admin:triage_mismatchgroup_change", args=[mismatch.group_id]) if mismatch.group_id else ""
    return PageLinks(f"{original}?step={step}#step-{step}", replay, replay_url, compare_url, group_url)


def resolves_group(mismatch: Mismatch) -> bool:
    """Resolve on this page resolves the mismatch's group when it has one still open (decision 0057)."""
    return mismatch.group is not None and mismatch.group.status != GroupStatus.RESOLVED


def page_context(mismatch: Mismatch, *, can_act: bool) -> dict[str, Any]:
    """What the page's action panel offers; nothing to act on for a viewer."""
    group_open = resolves_group(mismatch)
    can_resolve = can_act and (group_open or not mismatch.resolved)
    return {
        "links": page_links(mismatch),
        "can_act": can_act,
        "resolve_form": GroupResolveForm() if can_resolve else None,
        "resolves_group": group_open,
        "group_unresolved": mismatch.group.mismatches.filter(resolved=False).count() if group_open else 0,
        "offer_file_issue": can_act and not mismatch.resolved and not mismatch.issue_url,
        "offer_retry": can_act and not mismatch.resolved and mismatch.notification_state != NotificationState.SENT,
    }


class MismatchPageActionsMixin:
    """Views behind the mismatch page's buttons; mixed into MismatchAdmin (a TenantScopedAdminMixin)."""

    def page_urls(self) -> list:
        site = self.admin_site  # type: ignore[attr-defined]
        return [
            path("<path:object_id>/resolve/", site.admin_view(self.resolve_view), name="triage_mismatch_resolve"),
            path(
                "<path:object_id>/file-issue/",
                site.admin_view(self.file_issue_view),
                name="triage_mismatch_file_issue",
            ),
            path("<path:object_id>/retry/", site.admin_view(self.retry_view), name="triage_mismatch_retry"),
        ]

    def visible_mismatch(self, request, object_id) -> Mismatch:
        """The mismatch if the user's tenants include its own, else 404 (never a redirect that says it exists)."""
        mismatch = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if mismatch is None:
            raise Http404("No such mismatch.")
        return mismatch

    def _acting_on(self, request, object_id) -> tuple[Mismatch, str]:
        """The mismatch a POST acts on and its page; 404 outside the user's tenants, 403 below operator."""
        mismatch = self.visible_mismatch(request, object_id)
        if request.method == "POST" and not self.has_change_permission(request, mismatch):  # type: ignore[attr-defined]
            raise PermissionDenied  # operators of the mismatch's own tenant only
        return mismatch, reverse("admin:triage_mismatch_change", args=[mismatch.pk])

    def _say(self, request, text, level=messages.SUCCESS) -> None:
        self.message_user(request, text, level)  # type: ignore[attr-defined]

    def resolve_view(self, request, object_id: str):
        mismatch, page = self._acting_on(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(page)
        form = GroupResolveForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
            self._say(request, f"Not resolved: {errors}", messages.ERROR)
            return HttpResponseRedirect(page)
        kind, note = ResolutionKind(form.cleaned_data["kind"]), form.cleaned_data["note"]
        who = request.user.get_username()
        if resolves_group(mismatch):
            group = mismatch.group
            assert group is not None
            open_ones = group.mismatches.filter(resolved=False).count()
            try:
                group_resolve(group=group, kind=kind, note=note, who=who)
            except GroupAlreadyResolved:
                self._say(request, f"Group #{group.pk} was already resolved.", messages.WARNING)
            else:
                resolved = counted(open_ones, "unresolved mismatch", "unresolved mismatches")
                self._say(request, f"Resolved group #{group.pk} as {kind.label.lower()}, with its {resolved}.")
            return HttpResponseRedirect(page)
        try:
            mismatch_resolve(mismatch=mismatch, who=who, note=f"{kind.label}: {note}")
        except AlreadyResolved:
            self._say(request, "The mismatch was already resolved.", messages.WARNING)
        else:
            self._say(request, f"Resolved this mismatch as {kind.label.lower()}.")
        return HttpResponseRedirect(page)

    def file_issue_view(self, request, object_id: str):
        mismatch, page = self._acting_on(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(page)
        result = mismatch_issue_file(mismatch_id=mismatch.pk)
        if result.outcome == "sent":
            mismatch.refresh_from_db(fields=["issue_url", "issue_number"])
            text = format_html('Filed <a href="{}">GitHub issue #{}</a>.', result.issue_url, mismatch.issue_number)
            self._say(request, text)
        elif result.outcome == "retry":
            self._say(request, f"GitHub did not take it yet; it will be retried: {result.error}", messages.WARNING)
        elif result.outcome == "skipped":
            why = result.error or "it already has an issue, or another worker is filing it."
            self._say(request, f"Not filed: {why}", messages.WARNING)
        else:
            self._say(request, f"Not filed: {result.error}", messages.ERROR)
        return HttpResponseRedirect(page)

    def retry_view(self, request, object_id: str):
        from triage.tasks import mismatch_notify_task

        mismatch, page = self._acting_on(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(page)
        if mismatch.resolved:
            self._say(request, "Not retried: resolved mismatches are never notified.", messages.ERROR)
            return HttpResponseRedirect(page)
        if mismatch.notification_state == NotificationState.SENT:
            self._say(request, "Not retried: it was notified already.", messages.WARNING)
            return HttpResponseRedirect(page)
        ids = notification_requeue(mismatch_ids=[mismatch.pk])
        for mismatch_id in ids:
            transaction.on_commit(lambda m=str(mismatch_id): mismatch_notify_task.delay(m), robust=True)
        self._say(request, f"Queued {counted(len(ids), 'notification')}.")
        return HttpResponseRedirect(page)
