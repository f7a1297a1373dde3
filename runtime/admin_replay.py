"""Replay from the admin's trace page: the API's replay service, its outcome as one admin message.

The trace admin (the edge that composes apps) calls this; the replay itself is `run_replay`, so
the tenant's execution policy, deadline and concurrency limit apply exactly as on the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from aosproject.errors import ApiError
from runtime.services import run_replay
from traces.models import Trace


@dataclass(frozen=True)
class ReplayOutcome:
    message: str | SafeString
    level: int
    url: str | None = None  # the new replay's page, when one was stored


def _where(divergence: dict | None) -> str:
    if not divergence:
        return ""
    return f" at step {divergence['step_index']} ({divergence['reason']})"


def replay_from_admin(*, trace: Trace, mode: str, dry_run: bool) -> ReplayOutcome:
    """Replays `trace` in its own tenant; policy refusals and limits become an error message."""
    try:
        result = run_replay(tenant=trace.tenant, run_id=trace.run_id or trace.trace_id, mode=mode, dry_run=dry_run)
    except ApiError as error:
        return ReplayOutcome(f"Replay refused ({error.error_code}): {error.message}", messages.ERROR)
    verdict = "parity" if result["parity"] else "diverged" + _where(result["divergence"])
    if dry_run:
        return ReplayOutcome(
            f"Dry run ({mode}): {verdict}. Nothing was stored.",
            messages.SUCCESS if result["parity"] else messages.WARNING,
        )
    replay = Trace.objects.filter(tenant=trace.tenant, run_id=result["replay_run_id"]).only("pk", "trace_id").get()
    url = reverse("admin:traces_trace_change", args=[replay.pk])
    message = format_html('Replayed ({}): {}. New replay <a href="{}">{}</a>.', mode, verdict, url, replay.trace_id)
    return ReplayOutcome(message, messages.SUCCESS if result["parity"] else messages.WARNING, url)
