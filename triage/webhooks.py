"""GitHub webhook (PRODUCT.md §6, §15): signature check and issue closed/reopened → mismatches and groups."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from triage.groups import group_resolve_from_github, group_unresolve_from_github
from triage.models import Mismatch, WebhookDelivery


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex hmac of the raw body>`; no secret configured = nothing is valid."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def github_delivery_record(*, delivery_id: str | None, body: bytes, event: str) -> bool:
    """Records a delivery about to be applied; False when it (or the same body) was applied already.

    Call it inside the transaction that applies the event, so a failed apply forgets the delivery
    and GitHub's redelivery is applied.
    """
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives the duplicate
            WebhookDelivery.objects.create(
                delivery_id=delivery_id or None, body_sha256=hashlib.sha256(body).hexdigest(), event=event[:100]
            )
    except IntegrityError:
        return False
    return True


def webhook_deliveries_purge(*, older_than_days: int) -> int:
    """Forgets deliveries older than the retention; returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted


def github_event_apply(*, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Applies an `issues` closed/reopened event to the linked mismatches; other events are ignored."""
    action = payload.get("action") if isinstance(payload, dict) else None
    issue = payload.get("issue") if isinstance(payload, dict) else None
    if event != "issues" or action not in ("closed", "reopened") or not isinstance(issue, dict):
        return {"ok": True, "event": event, "action": action, "ignored": True, "updated": 0}
    html_url = issue.get("html_url")
    if not isinstance(html_url, str) or not html_url:
        return {"ok": True, "event": event, "action": action, "ignored": True, "updated": 0}
    sender = payload.get("sender")
    login = str((sender.get("login") if isinstance(sender, dict) else None) or "github")
    # Linked by the issue's URL: it names host, repository and number, so tenants cannot collide.
    # A group follows its issue, and takes all its mismatches along (also those never notified).
    linked = Mismatch.objects.filter(issue_url=html_url)
    if action == "closed":
        updated = linked.filter(resolved=False).update(
            resolved=True, resolved_at=timezone.now(), resolved_by=login[:200]
        )
        updated += group_resolve_from_github(issue_url=html_url, login=login)
    else:
        updated = linked.filter(resolved=True).update(
            resolved=False, resolved_at=None, resolved_by="", resolution_note=""
        )
        updated += group_unresolve_from_github(issue_url=html_url, login=login)
    return {"ok": True, "event": event, "action": action, "ignored": False, "updated": updated}
