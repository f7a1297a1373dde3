"""GitHub webhook: X-Hub-Signature-256 verification; issue closed/reopened → mismatches."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from tests.runtime.pooled_server import PooledLiveServer
from tests.triage.github_standin import make_trace
from triage.models import Mismatch, WebhookDelivery
from triage.services import mismatch_record
from triage.tasks import webhook_deliveries_purge_task

SECRET = "whsec-test"
ISSUE_URL = "https://github.example/acme/agents/issues/7"
URL = "/api/v1/integrations/github/webhook"


@pytest.fixture
def linked(settings, tenant_a):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    settings.GITHUB_TOKEN = ""
    trace = make_trace(tenant_a)
    mismatches = [
        mismatch_record(trace=trace, step_index=i, reason="output_mismatch", reported_by="replay") for i in (0, 1)
    ]
    Mismatch.objects.filter(pk__in=[m.pk for m in mismatches]).update(issue_url=ISSUE_URL, issue_number=7)
    unrelated = mismatch_record(trace=trace, step_index=2, reason="output_mismatch", reported_by="replay")
    return mismatches, unrelated


def send(payload, *, event="issues", secret=SECRET, signature=None, raw=None, delivery=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4())}
    if signature is None and secret is not None:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return APIClient().post(URL, body, content_type="application/json", **headers)


def issue_event(action, url=ISSUE_URL, login="octocat"):
    return {"action": action, "issue": {"number": 7, "html_url": url}, "sender": {"login": login}}


def states():
    return sorted(Mismatch.objects.values_list("step_index", "resolved", "resolved_by"))


def test_it_resolves_linked_mismatches_when_the_issue_is_closed(linked):
    response = send(issue_event("closed"))
    assert response.status_code == 200 and response.json()["updated"] == 2
    assert states() == [(0, True, "octocat"), (1, True, "octocat"), (2, False, "")]
    assert Mismatch.objects.filter(resolved=True, resolved_at__isnull=False).count() == 2


def test_it_unresolves_them_when_the_issue_is_reopened(linked):
    send(issue_event("closed"))
    response = send(issue_event("reopened", login="hubot"))
    assert response.status_code == 200 and response.json()["updated"] == 2
    assert states() == [(0, False, ""), (1, False, ""), (2, False, "")]


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", "sha256=not-hex"],
    ids=["missing", "empty", "wrong", "sha1", "garbage"],
)
def test_it_refuses_bad_or_missing_signatures(linked, signature):
    response = send(issue_event("closed"), secret=None, signature=signature)
    assert response.status_code == 401 and response.json()["error"] == "invalid_signature"
    assert states() == [(0, False, ""), (1, False, ""), (2, False, "")]


def test_it_refuses_a_signature_made_with_another_secret(linked):
    assert send(issue_event("closed"), secret="other").status_code == 401
    assert states()[0] == (0, False, "")


def test_it_refuses_everything_when_no_secret_is_configured(linked, settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    assert send(issue_event("closed"), secret="").status_code == 401


def test_it_changes_nothing_for_an_unknown_issue(linked):
    response = send(issue_event("closed", url="https://github.example/acme/agents/issues/999"))
    assert response.status_code == 200 and response.json()["updated"] == 0
    assert states() == [(0, False, ""), (1, False, ""), (2, False, "")]


@pytest.mark.parametrize(
    "event,payload",
    [("ping", {"zen": "Keep it simple."}), ("issues", issue_event("labeled")), ("push", {"ref": "main"})],
)
def test_it_acknowledges_and_ignores_other_events(linked, event, payload):
    response = send(payload, event=event)
    assert response.status_code == 202 and response.json()["ignored"] is True
    assert states() == [(0, False, ""), (1, False, ""), (2, False, "")]


def test_it_refuses_a_signed_but_malformed_body(linked):
    assert send(None, raw=b"{not json").status_code == 400
    assert send(None, raw=b"[1, 2]").status_code == 400


def test_it_accepts_form_encoded_payloads(linked):
    from urllib.parse import urlencode

    raw = urlencode({"payload": json.dumps(issue_event("closed"))}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = APIClient().post(
        URL,
        raw,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_GITHUB_EVENT="issues",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
    assert response.status_code == 200 and response.json()["updated"] == 2


def _closed_by(login):
    return {**issue_event("closed", login=login), "issue": {"number": 7, "html_url": ISSUE_URL, "state": "closed"}}


@pytest.mark.parametrize("replay", ["same delivery id", "same body, new delivery id"])
def test_it_ignores_a_replayed_delivery(linked, replay):
    first = issue_event("closed")
    assert send(first, delivery="d-1").json()["updated"] == 2
    assert send(issue_event("reopened", login="hubot"), delivery="d-2").json()["updated"] == 2

    again = send(first, delivery="d-1" if replay == "same delivery id" else "d-3")

    assert again.status_code == 200
    assert again.json() == {"ok": True, "event": "issues", "duplicate": True, "ignored": True, "updated": 0}
    assert states() == [(0, False, ""), (1, False, ""), (2, False, "")]  # still reopened


def test_it_applies_a_new_delivery_under_a_known_id_only_once(linked):
    assert send(_closed_by("octocat"), delivery="d-1").json()["updated"] == 2
    # A different body under an id already applied is a forged or broken redelivery: ignored too.
    assert send(_closed_by("mallory"), delivery="d-1").json()["duplicate"] is True
    assert states() == [(0, True, "octocat"), (1, True, "octocat"), (2, False, "")]


def test_it_records_no_delivery_it_refused(linked):
    assert send(None, raw=b"{not json", delivery="d-1").status_code == 400
    assert send(issue_event("closed"), delivery="d-1").json()["updated"] == 2
    assert WebhookDelivery.objects.count() == 1


def test_it_forgets_deliveries_after_the_retention(linked, settings):
    settings.GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        send(issue_event("closed"), delivery="old")
    send(issue_event("reopened"), delivery="new")
    assert webhook_deliveries_purge_task() == 1
    assert list(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == ["new"]


def test_it_applies_concurrent_copies_of_one_delivery_once(transactional_db, linked):
    """12 copies of one signed delivery at once (GitHub's retry racing a replay): one applies it."""
    body = json.dumps(issue_event("closed")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "d-race",
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    with PooledLiveServer(workers=8) as server, ThreadPoolExecutor(max_workers=12) as pool:
        url = f"{server.url}{URL}"
        responses = list(pool.map(lambda _: requests.post(url, data=body, headers=headers, timeout=30), range(12)))
    assert [r.status_code for r in responses] == [200] * 12
    assert sorted(r.json().get("duplicate", False) for r in responses) == [False] + [True] * 11
    assert sum(r.json()["updated"] for r in responses) == 2
    assert WebhookDelivery.objects.count() == 1
