"""What the admin's trace page shows besides the header: timeline, divergence, links, replay form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.html import format_html

from traces.models import Trace, TraceSource, TraceStatus
from traces.timeline import replay_divergence, replay_mismatch, timeline_page, trace_parity

LINKED = 10  # replays and mismatches listed on the page; the rest behind a filtered list link
REPLAYABLE = (TraceSource.RUN, TraceSource.REPLAY, TraceSource.INGEST)


class ReplayForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("recorded", "recorded"), ("live", "live")],
        initial="recorded",
        help_text="recorded: deterministic steps re-run, the rest served from the recording; live: re-run what may be.",
    )
    dry_run = forms.BooleanField(required=False, initial=True, help_text="Compare only; store nothing.")


def short_id(value: str, *, keep: int = 14) -> str:
    """The beginning of a long id, the whole id on hover (the list fits 1400 px)."""
    if not value:
        return "—"
    if len(value) <= keep + 1:
        return format_html('<span class="aos-id">{}</span>', value)
    return format_html('<span class="aos-id" title="{}">{}…</span>', value, value[:keep])


def utc_time(value: dt.datetime | None) -> str:
    """`2026-12-01 13:22:03 UTC`: seconds and the zone, whatever the server's TIME_ZONE."""
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _change(opts, pk) -> str:
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])


def _changelist(opts) -> str:
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def trace_page_context(*, trace: Trace, query, can_replay: bool) -> dict[str, Any]:
    """Template context for `admin/traces/trace/change_form.html`; a bounded number of queries."""
    trace_opts = Trace._meta
    mismatch_opts = trace.mismatches.model._meta
    parity = trace_parity(trace)
    mismatch = replay_mismatch(trace) if parity is False else None
    diverged_at = replay_divergence(trace, mismatch=mismatch) if parity is False else None
    timeline = timeline_page(
        trace=trace, page=query.get("steps_page"), focus=query.get("step"), diverged_at=diverged_at
    )
    # Related managers point each row back at `trace`: its foreign key must be loaded (or one query a row).
    replay_fields = ("pk", "replay_of_id", "trace_id", "source", "status", "parity", "created_at")
    replays = list(trace.replays.only(*replay_fields).order_by("-created_at", "-id")[: LINKED + 1])
    mismatch_fields = ("pk", "trace_id", "step_index", "reason", "resolved", "created_at")
    mismatches = list(trace.mismatches.only(*mismatch_fields).order_by("-created_at")[: LINKED + 1])
    compare = reverse("admin:traces_trace_compare", args=[trace.pk])
    return {
        "timeline": timeline,
        "parity": parity,
        "diverged_at": diverged_at,
        "divergence_mismatch": mismatch,
        "divergence_mismatch_url": _change(mismatch_opts, mismatch.pk) if mismatch else None,
        "original_trace": trace.replay_of,
        "original_url": _change(trace_opts, trace.replay_of_id) if trace.replay_of_id else None,
        "compare_original_url": f"{compare}?with_pk={trace.replay_of_id}" if trace.replay_of_id else None,
        "replays": [
            {
                "trace": r,
                "parity": trace_parity(r),
                "url": _change(trace_opts, r.pk),
                "compare_url": f"{compare}?with_pk={r.pk}",
                "created": utc_time(r.created_at),
            }
            for r in replays[:LINKED]
        ],
        "more_replays": len(replays) > LINKED,
        "replays_url": f"{_changelist(trace_opts)}?replay_of__id__exact={trace.pk}",
        "mismatches": [
            {"mismatch": m, "url": _change(mismatch_opts, m.pk), "created": utc_time(m.created_at)}
            for m in mismatches[:LINKED]
        ],
        "more_mismatches": len(mismatches) > LINKED,
        "mismatches_url": f"{_changelist(mismatch_opts)}?trace__id__exact={trace.pk}",
        "replay_form": ReplayForm() if can_replay and _replayable(trace) else None,
        "replay_url": reverse("admin:traces_trace_replay", args=[trace.pk]),
    }


def _replayable(trace: Trace) -> bool:
    return trace.source in REPLAYABLE and trace.status in (TraceStatus.SUCCEEDED, TraceStatus.FAILED)
