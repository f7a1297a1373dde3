"""GitHub webhook (PRODUCT.md §6): signature check and issue closed/reopened → mismatches."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.utils import timezone

from traces.models import Mismatch


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex hmac of the raw body>`; no secret configured = nothing is valid."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def github_event_apply(*, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Applies an `issues` closed/reopened event to the linked mismatches; other events are ignored."""
    action = payload.get("action") if isinstance(payload, dict) else None
    issue = payload.get("issue") if isinstance(payload, dict) else None
    if event != "issues" or action not in ("closed", "reopened") or not isinstance(issue, dict):
        return {"ok": True, "event": event, "action": action, "ignored": True, "updated": 0}
    html_url = issue.get("html_url")
    if not isinstance(html_url, str) or not html_url:
        return {"ok": True, "event": event, "action": action, "ignored": True, "updated": 0}
    sender = payload.get("sender") if isinstance(payload.get("sender"), dict) else {}
    login = str(sender.get("login") or "github")
    # Linked by the issue's URL: it names host, repository and number, so tenants cannot collide.
    linked = Mismatch.objects.filter(issue_url=html_url)
    if action == "closed":
        updated = linked.filter(resolved=False).update(
            resolved=True, resolved_at=timezone.now(), resolved_by=login[:200]
        )
    else:
        updated = linked.filter(resolved=True).update(resolved=False, resolved_at=None, resolved_by="")
    return {"ok": True, "event": event, "action": action, "ignored": False, "updated": updated}
