"""Texts of mismatch notifications: GitHub issue titles/bodies/comments and Slack messages (pure)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from aosproject.plurals import counted


def _admin_url(name: str, pk: Any, fallback: str) -> str:
    try:
        path = reverse(name, args=[pk])
    except NoReverseMatch:  # the model's admin may not be registered in every deployment
        path = fallback
    return f"{settings.AOS_BASE_URL}{path}"


def trace_admin_url(trace) -> str:
    return _admin_url("admin:traces_trace_change", trace.pk, f"/admin/traces/trace/{trace.pk}/change/")


def mismatch_admin_url(mismatch) -> str:
    return _admin_url("admin:triage_mismatch_change", mismatch.pk, f"/admin/triage/mismatch/{mismatch.pk}/change/")


def _fenced_json(value: Any) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    # A fence longer than any backtick run inside, so reported data cannot break out of the block.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}json\n{text}\n{fence}"


def _code(value: str) -> str:
    return f"`{value}`" if value else "—"


def issue_marker(mismatch) -> str:
    """Hidden in every issue body and comment filed for a mismatch: how a retry finds what an attempt
    whose answer was lost (worker killed, timeout after the write) already wrote (decision 0053)."""
    return f"<!-- aos-mismatch:{mismatch.pk} -->"


def issue_title(mismatch) -> str:
    return f"[Replay Mismatch] trace:{mismatch.trace.trace_id} step:{mismatch.step_index}"


def reported_via_api(mismatch) -> bool:
    """Reported through POST traces/{id}/mismatch rather than found by one of our replays."""
    return mismatch.source == "api"


def _opening(mismatch) -> str:
    if reported_via_api(mismatch):
        return (
            f"A mismatch on this trace was reported via the API by `{mismatch.reported_by}` "
            "(not found by a replay of this control plane)."
        )
    return "A replay of this trace diverged from the recorded run (determinism failure)."


def issue_body(mismatch) -> str:
    trace = mismatch.trace
    rows = [
        ("Trace", f"[`{trace.trace_id}`]({trace_admin_url(trace)})"),
        ("Tenant", _code(mismatch.tenant.slug)),
        ("Step", f"{mismatch.step_index}" + (f" (`{mismatch.skill_id}`)" if mismatch.skill_id else "")),
        ("Reason", _code(mismatch.reason)),
        ("Expected hash", _code(mismatch.expected_hash)),
        ("Actual hash", _code(mismatch.actual_hash)),
        ("Plan hash", _code(trace.plan_hash)),
        ("Reported by", _code(mismatch.reported_by) + (" via API" if reported_via_api(mismatch) else "")),
        ("Recorded at", mismatch.created_at.isoformat() if mismatch.created_at else "—"),
        ("Fingerprint", _code(mismatch.fingerprint)),
        ("Mismatch", f"[`{mismatch.pk}`]({mismatch_admin_url(mismatch)})"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        f"{_opening(mismatch)}\n\n"
        f"| Field | Value |\n|---|---|\n{table}\n\n"
        f"### Details\n\n{_fenced_json(mismatch.details)}\n\n"
        f"[Open the trace in the AOS admin]({trace_admin_url(trace)})\n\n"
        "_Filed automatically by the AOS control plane. Later mismatches with the same fingerprint are added "
        f"here as comments._\n{issue_marker(mismatch)}"
    )


def recurrence_comment(mismatch) -> str:
    trace = mismatch.trace
    return (
        f"The same mismatch happened again: trace [`{trace.trace_id}`]({trace_admin_url(trace)}) "
        f"step {mismatch.step_index}, reason `{mismatch.reason}`, expected `{mismatch.expected_hash or '—'}`, "
        f"actual `{mismatch.actual_hash or '—'}` (mismatch `{mismatch.pk}`).\n\n{_fenced_json(mismatch.details)}\n"
        f"{issue_marker(mismatch)}"
    )


def resolution_comment(*, who: str, note: str) -> str:
    return f"Resolved by {who}" + (f"\n\n{note}" if note else "")


def group_resolution_comment(group) -> str:
    """Kind and note of a group's resolution, as posted on its issue."""
    kind = group.get_resolution_kind_display() if group.resolution_kind else "resolved"
    return f"Resolved by {group.resolved_by} as **{kind}**\n\n{group.resolution_note}".rstrip()


def regression_comment(mismatch, group) -> str:
    """A mismatch in a group resolved as fixed: why the issue is open again."""
    trace = mismatch.trace
    when = f" on {group.resolved_at:%Y-%m-%d %H:%M:%S} UTC" if group.resolved_at else ""
    return (
        f"**Regression**: resolved as fixed by {group.resolved_by or 'someone'}{when}, and it happened again: "
        f"trace [`{trace.trace_id}`]({trace_admin_url(trace)}) step {mismatch.step_index}, reason "
        f"`{mismatch.reason}` (mismatch `{mismatch.pk}`). Reopened by the AOS control plane."
    )


def slack_text(mismatch, *, github_error: str = "") -> str:
    trace = mismatch.trace
    text = (
        f":warning: *{issue_title(mismatch)}*\n"
        f"tenant `{mismatch.tenant.slug}` · reason `{mismatch.reason}` · skill `{mismatch.skill_id or '-'}`\n"
        f"expected `{mismatch.expected_hash or '-'}` · actual `{mismatch.actual_hash or '-'}`"
        + (f" · reported via API by `{mismatch.reported_by}`" if reported_via_api(mismatch) else "")
        + "\n"
        f"<{trace_admin_url(trace)}|Open the trace> · <{mismatch_admin_url(mismatch)}|Mismatch>"
    )
    if github_error:
        text += f"\n_GitHub issue could not be filed: {github_error[:300]}_"
    return text


def bulk_issue_title(mismatches: list) -> str:
    traces = {m.trace_id for m in mismatches}
    found = counted(len(mismatches), "mismatch", "mismatches")
    return f"[Replay Mismatch] bulk report: {found} in {counted(len(traces), 'trace')}"


def bulk_issue_body(mismatches: Iterable, *, reported_by: str) -> str:
    by_trace: dict[int, list] = {}
    for mismatch in mismatches:
        by_trace.setdefault(mismatch.trace_id, []).append(mismatch)
    parts = [f"Bulk report of replay mismatches, filed by `{reported_by}`.\n"]
    for items in by_trace.values():
        trace = items[0].trace
        parts.append(
            f"### Trace [`{trace.trace_id}`]({trace_admin_url(trace)}) (tenant `{items[0].tenant.slug}`)\n\n"
            "| Step | Skill | Reason | Expected hash | Actual hash | Mismatch | Recorded |\n"
            "|---|---|---|---|---|---|---|"
        )
        for m in sorted(items, key=lambda m: (m.step_index, m.created_at)):
            parts.append(
                f"| {m.step_index} | {_code(m.skill_id)} | `{m.reason}` | {_code(m.expected_hash)} | "
                f"{_code(m.actual_hash)} | [`{str(m.pk)[:8]}`]({mismatch_admin_url(m)}) | "
                f"{m.created_at:%Y-%m-%d %H:%M} |"
            )
        parts.append("")
    return "\n".join(parts)
