"""What the admin's trace page shows besides the header: timeline, divergence, links, replay form.

The page costs the same for 100 and 10,000 steps: the header is read without its JSON columns
(`TRACE_PAGE_DEFERRED`; a 10,000-step plan is megabytes to decode), which the page loads on
demand from `trace_json_response`; the rows are rendered here, not by the template engine
(100 rows of a dozen cells each were most of the page's server time).
"""

from __future__ import annotations

import datetime as dt
import uuid
from html import escape
from typing import Any

from django import forms
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from traces.models import Trace, TraceSource, TraceStatus, TraceStep
from traces.timeline import (
    TimelinePage,
    TimelineRow,
    json_full,
    replay_divergence,
    replay_mismatch,
    timeline_page,
    trace_parity,
)

LINKED = 10  # replays and mismatches listed on the page; the rest behind a filtered list link
REPLAYABLE = (TraceSource.RUN, TraceSource.REPLAY, TraceSource.INGEST)
# The trace's JSON columns, loaded on demand (`trace_json_response`), never with the page.
TRACE_JSON_PARTS = ("plan", "input", "metadata")
STEP_JSON_PARTS = ("params", "output")
TRACE_PAGE_DEFERRED = (*TRACE_JSON_PARTS, *(f"replay_of__{name}" for name in TRACE_JSON_PARTS))


class ReplayForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("recorded", "recorded"), ("live", "live")],
        initial="recorded",
        help_text="recorded: deterministic steps re-run, the rest served from the recording; live: re-run what may be.",
    )
    dry_run = forms.BooleanField(required=False, initial=True, help_text="Compare only; store nothing.")
    # One token a rendered form: a second POST of the same form (a double click, a resubmit) finds
    # the first one's claim and starts nothing (runtime/admin_replay.py).
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    @classmethod
    def fresh(cls) -> ReplayForm:
        return cls(initial={"form_token": uuid.uuid4().hex})


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
    json_urls = {part: reverse("admin:traces_trace_json", args=[trace.pk, part]) for part in STEP_JSON_PARTS}
    return {
        "timeline": timeline,
        "timeline_rows": timeline_rows_html(timeline, json_urls=json_urls),
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
        "mismatches_url": f"{_changelist(mismatch_opts)}?trace__id__exact={trace.pk}&status=all",
        "replay_form": ReplayForm.fresh() if can_replay and _replayable(trace) else None,
        "replay_url": reverse("admin:traces_trace_replay", args=[trace.pk]),
    }


def _replayable(trace: Trace) -> bool:
    return trace.source in REPLAYABLE and trace.status in (TraceStatus.SUCCEEDED, TraceStatus.FAILED)


def lazy_json(trace: Trace, part: str) -> str:
    """A collapsed box that loads the trace's `part` when opened (trace_page.js), and a plain link."""
    url = reverse("admin:traces_trace_json", args=[trace.pk, part])
    return format_html(
        '<details class="aos-lazy-json" data-src="{}"><summary>Show {}</summary>'
        '<button type="button" class="aos-copy" data-copy-from="trace-{}">Copy</button>'
        '<pre id="trace-{}" class="aos-json-text" aria-live="polite"></pre></details>'
        '<a href="{}" target="_blank" rel="noopener" class="aos-json-link">open as JSON</a>',
        url,
        part,
        part,
        part,
        url,
    )


def trace_json_response(*, visible, object_id: str, part: str, step: str | None) -> HttpResponse:
    """The whole JSON of a trace's plan/input/metadata or a step's params/output, as indented text.

    `visible` is the admin's tenant-scoped queryset: another tenant's trace is a 404 like a missing one.
    """
    trace = visible.filter(pk=object_id).only("pk").first() if object_id.isdigit() else None
    if trace is None:
        raise Http404("No such trace.")
    if part in TRACE_JSON_PARTS:
        value = visible.filter(pk=trace.pk).values_list(part, flat=True).get()
    elif part in STEP_JSON_PARTS:
        index = int(step) if step is not None and step.strip().isdigit() and len(step.strip()) < 10 else None
        found = TraceStep.objects.filter(trace_id=trace.pk, index=index).values_list(part, flat=True)
        if index is None or not found:
            raise Http404(f"No step {step!r} in this trace.")
        value = found[0]
    else:
        raise Http404(f"No JSON part {part!r}: one of {', '.join(TRACE_JSON_PARTS + STEP_JSON_PARTS)}.")
    return HttpResponse(json_full(value), content_type="application/json; charset=utf-8")


def _json_block(row: TimelineRow, part: str, text: str, cut: bool, json_urls: dict[str, str]) -> str:
    index = row.step.index
    more = (
        f'<p class="help">Cut here: <a href="{escape(json_urls[part])}?step={index}"'
        ' target="_blank" rel="noopener">the whole value</a>.</p>'
        if cut
        else ""
    )
    return (
        f'<div><strong>{part}</strong> <button type="button" class="aos-copy" data-copy-from="{part}-{index}">Copy'
        f'</button>\n<pre id="{part}-{index}">{escape(text)}</pre>{more}</div>'
    )


def _row_html(row: TimelineRow, json_urls: dict[str, str]) -> str:
    step = row.step
    status = escape(step.status)
    classes = f"aos-step aos-step-{status}" + (" aos-diverged" if row.diverged else "")
    classes += " aos-focused" if row.focused else ""
    version = f" <small>{escape(step.skill_version)}</small>" if step.skill_version else ""
    error = f" <small>{escape(step.error_code)}</small>" if step.error_code else ""
    badge = ' <span class="aos-badge aos-badge-diverged">diverged</span>' if row.diverged else ""
    tokens = row.tokens
    tokens_cell = (
        f'<span class="aos-num" title="prompt {tokens["prompt"]}, completion {tokens["completion"]}">'
        f"{tokens['total']}</span>"
        if tokens
        else '<span class="aos-num">—</span>'
    )
    behaviour = step.replay_behaviour
    replay = f'<span class="aos-replay">{escape(behaviour)}</span>' if behaviour else "—"
    hashes = "".join(
        f'<tr><th>{name}</th><td><code class="aos-hash">{escape(value)}</code> <button type="button" '
        f'class="aos-copy" data-copy="{escape(value)}" title="copy {name}">Copy</button></td></tr>'
        for name, value in row.hashes
    )
    extra = ""
    if step.idempotency_key:
        extra += f"<tr><th>idempotency key</th><td><code>{escape(step.idempotency_key)}</code></td></tr>"
    if tokens:
        extra += (
            f"<tr><th>tokens</th><td>prompt {tokens['prompt']}, completion {tokens['completion']}, "
            f"total {tokens['total']}</td></tr>"
        )
    if step.error_code or step.error_message:
        extra += f"<tr><th>error</th><td><code>{escape(step.error_code)}</code> {escape(step.error_message)}</td></tr>"
    return (
        f'<details class="{classes}" id="step-{step.index}"{" open" if row.focused else ""}>\n<summary>'
        f'<span class="aos-num">#{step.index}</span>'
        f'<span class="aos-skill">{escape(step.skill_id)}{version}</span>'
        f'<span><span class="aos-status aos-status-{status}">{status}</span>{error}{badge}</span>'
        f'<span class="aos-track" title="starts at {row.offset_text} ms, takes {row.duration_text} ms">'
        f'<span class="aos-bar" style="{row.bar_style}"></span></span>'
        f'<span class="aos-num">{row.duration_text} ms</span>'
        f'<span class="aos-num">{row.cost_text} ¢</span>'
        f"{tokens_cell}"
        f'<span class="aos-num">{step.retry_count}</span>'
        f"<span>{replay}</span>"
        f'</summary>\n<div class="aos-step-body"><table>'
        f"<tr><th>offset</th><td>{row.offset_text} ms from the start</td></tr>{hashes}{extra}</table>\n"
        f'<div class="aos-json">{_json_block(row, "params", row.params_json, row.params_cut, json_urls)}'
        f"{_json_block(row, 'output', row.output_json, row.output_cut, json_urls)}</div></div>\n</details>\n"
    )


def timeline_rows_html(timeline: TimelinePage, *, json_urls: dict[str, str]) -> SafeString:
    """The page's step rows; every value from the trace is escaped here."""
    return mark_safe("".join(_row_html(row, json_urls) for row in timeline.rows))  # noqa: S308 (escaped above)
