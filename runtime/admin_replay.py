"""Replay from the admin's trace page: the API's replay service, its outcome as one admin message.

The trace admin (the edge that composes apps) calls this; the replay itself is `run_replay`, so
the tenant's execution policy, deadline and concurrency limit apply exactly as on the API.

A double submit (a double click, a resubmitted form, two tabs) starts one replay: each rendered
form carries a one-time token, claimed as an `IdempotencyRecord` (tenant, "admin-replay:<token>")
before anything runs; the unique constraint lets one POST through, and a repeat is answered from
the record (the replay it started). As on the API, a claim is released only when nothing was
started (a refusal), so the corrected form can be sent again. A dry run stores nothing, not even
a claim: running it twice has no effect to guard against.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from aosproject.errors import ApiError
from aosproject.models import IdempotencyRecord
from runtime.services import run_replay
from traces.models import Trace

KEY_PREFIX = "admin-replay:"


@dataclass(frozen=True)
class ReplayOutcome:
    message: str | SafeString
    level: int
    url: str | None = None  # the new replay's page, when one was stored


def _where(divergence: dict | None) -> str:
    if not divergence:
        return ""
    return f" at step {divergence['step_index']} ({divergence['reason']})"


def _replay_page(trace: Trace, run_id: str) -> tuple[str, str] | None:
    """(url, trace id) of the replay stored as `run_id` in the trace's tenant."""
    replay = Trace.objects.filter(tenant=trace.tenant, run_id=run_id).only("pk", "trace_id").first()
    if replay is None:
        return None
    return reverse("admin:traces_trace_change", args=[replay.pk]), replay.trace_id


def _claim(*, trace: Trace, token: str, request_hash: str) -> tuple[bool, IdempotencyRecord | None]:
    """(True, ours) when this POST owns the form's token, else (False, the record that does)."""
    key = f"{KEY_PREFIX}{token}"
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                tenant=trace.tenant,
                key=key,
                request_hash=request_hash,
                method="POST",
                path=reverse("admin:traces_trace_replay", args=[trace.pk]),
                state=IdempotencyRecord.State.IN_PROGRESS,
                expires_at=now + timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS),
            )
    except IntegrityError:
        return False, IdempotencyRecord.objects.filter(tenant=trace.tenant, key=key).first()
    return True, record


def _repeat(*, trace: Trace, record: IdempotencyRecord | None, request_hash: str) -> ReplayOutcome:
    """What a second POST of the same form is told; it runs nothing."""
    if record is not None and record.request_hash != request_hash:
        return ReplayOutcome(
            "Replay refused: this form was already used for another replay. Reload the page to replay again.",
            messages.ERROR,
        )
    if record is None or not record.run_id:  # the first POST is still being admitted
        return ReplayOutcome("This replay form was already submitted and is being processed.", messages.WARNING)
    if record.state != IdempotencyRecord.State.COMPLETED:
        return ReplayOutcome(
            f"This replay form was already submitted: replay {record.run_id} is still running.", messages.WARNING
        )
    verdict = (record.response_body or {}).get("verdict", "")
    stored = _replay_page(trace, record.run_id)
    if stored is None:
        return ReplayOutcome(
            f"This replay form was already submitted; its replay stored no trace ({verdict}).", messages.WARNING
        )
    url, trace_id = stored
    message = format_html(
        'This replay form was already submitted: replay <a href="{}">{}</a> ({}). Nothing was run again.',
        url,
        trace_id,
        verdict,
    )
    return ReplayOutcome(message, messages.INFO, url)


def _run(*, trace: Trace, mode: str, dry_run: bool, on_started=None) -> tuple[ReplayOutcome, str]:
    """(the outcome, the verdict) of one replay; policy refusals and limits become an error."""
    try:
        result = run_replay(
            tenant=trace.tenant,
            run_id=trace.run_id or trace.trace_id,
            mode=mode,
            dry_run=dry_run,
            on_started=on_started,
        )
    except ApiError as error:
        return ReplayOutcome(f"Replay refused ({error.error_code}): {error.message}", messages.ERROR), "refused"
    verdict = "parity" if result["parity"] else "diverged" + _where(result["divergence"])
    level = messages.SUCCESS if result["parity"] else messages.WARNING
    if dry_run:
        return ReplayOutcome(f"Dry run ({mode}): {verdict}. Nothing was stored.", level), verdict
    stored = _replay_page(trace, result["replay_run_id"])
    if stored is None:  # run_replay stores the replay in the trace's tenant: not expected
        return ReplayOutcome(f"Replayed ({mode}): {verdict}; the replay's trace was not found.", level), verdict
    url, trace_id = stored
    message = format_html('Replayed ({}): {}. New replay <a href="{}">{}</a>.', mode, verdict, url, trace_id)
    return ReplayOutcome(message, level, url), verdict


def replay_from_admin(*, trace: Trace, mode: str, dry_run: bool, form_token: str = "") -> ReplayOutcome:
    """Replays `trace` in its own tenant, once per rendered form (`form_token`)."""
    if dry_run:
        return _run(trace=trace, mode=mode, dry_run=True)[0]
    if not form_token:
        return ReplayOutcome(
            "Replay refused: the form carries no token (an outdated page?). Reload the page and replay again.",
            messages.ERROR,
        )
    request_hash = hashlib.sha256(json.dumps([trace.pk, mode]).encode()).hexdigest()
    claimed, record = _claim(trace=trace, token=form_token, request_hash=request_hash)
    if not claimed or record is None:
        return _repeat(trace=trace, record=record, request_hash=request_hash)
    started: list[str] = []

    def on_started(replay_run_id: str) -> None:
        # From here on the replay may have run: the claim is kept, a repeat is answered from it.
        started.append(replay_run_id)
        IdempotencyRecord.objects.filter(pk=record.pk).update(run_id=replay_run_id)

    try:
        outcome, verdict = _run(trace=trace, mode=mode, dry_run=False, on_started=on_started)
    except BaseException:
        if not started:
            record.delete()
        raise
    if not started:  # refused before anything ran: the same form may be sent again
        record.delete()
        return outcome
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED, response_status=302, response_body={"verdict": verdict}
    )
    return outcome
