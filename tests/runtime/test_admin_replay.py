"""Replay from the admin's trace page: operators of the trace's tenant, POST with CSRF, the policy applies."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from aosproject.models import IdempotencyRecord
from tests.runtime.helpers import pure_plan, run
from traces.models import Trace, TraceSource
from triage.models import Mismatch


@pytest.fixture
def original(api_a_dev) -> Trace:
    body = run(api_a_dev, pure_plan(), input={"price": 101.5, "symbol": "BTC"}).json()
    assert body["status"] == "succeeded"
    return Trace.objects.get(run_id=body["run_id"])


def replay_url(trace: Trace) -> str:
    return reverse("admin:traces_trace_replay", args=[trace.pk])


def page_url(trace: Trace) -> str:
    return reverse("admin:traces_trace_change", args=[trace.pk])


def form_token(client, trace: Trace) -> str:
    """The one-time token of the replay form the trace page renders."""
    page = client.get(page_url(trace)).content.decode()
    found = re.search(r'<input type="hidden" name="form_token" value="([0-9a-f]{32})"', page)
    assert found, "the page shows no replay form"
    return found.group(1)


def submit(client, trace: Trace, *, follow: bool = True, **data):
    """Loads the trace page and POSTs its replay form, as a browser does."""
    return client.post(replay_url(trace), {"form_token": form_token(client, trace), **data}, follow=follow)


def tamper(trace: Trace, index: int) -> None:
    step = trace.steps.get(index=index)
    step.output = {**step.output, "content": "tampered"}
    step.save(update_fields=["output"])


def test_it_replays_from_the_trace_page_and_links_the_new_replay(client, alice, original):
    client.force_login(alice)
    assert 'id="aos-replay-form"' in client.get(page_url(original)).content.decode()

    response = submit(client, original, mode="recorded")

    replay = Trace.objects.get(source=TraceSource.REPLAY)
    assert replay.replay_of_id == original.pk and replay.tenant_id == original.tenant_id
    assert response.redirect_chain == [(page_url(replay), 302)]
    page = response.content.decode()
    assert f'Replayed (recorded): parity. New replay <a href="{page_url(replay)}">{replay.trace_id}</a>.' in page
    assert 'id="aos-parity-banner"' in page


def test_it_shows_a_diverged_replay_with_its_banner_after_replaying(client, alice, original):
    tamper(original, 1)
    client.force_login(alice)
    response = submit(client, original, mode="recorded")
    page = response.content.decode()
    assert "Replayed (recorded): diverged at step 1 (output_mismatch)." in page
    assert "Diverged at step 1 (output_mismatch)" in page
    assert 'class="aos-step aos-step-succeeded aos-diverged" id="step-1"' in page
    assert original.mismatches.get().details["replay_run_id"] == Trace.objects.get(source="replay").run_id


def test_it_stores_nothing_on_a_dry_run(client, alice, original):
    tamper(original, 1)
    client.force_login(alice)
    for _ in range(2):  # the same form twice: still nothing stored, not even a claim
        response = client.post(
            replay_url(original), {"mode": "recorded", "dry_run": "on", "form_token": form_token(client, original)}
        )
        response = client.get(response["Location"])
    assert "Dry run (recorded): diverged at step 1 (output_mismatch). Nothing was stored." in response.content.decode()
    assert not Trace.objects.filter(source=TraceSource.REPLAY).exists()
    assert not original.mismatches.exists() and not Mismatch.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_it_answers_404_for_another_tenants_trace(client, carol, original):
    client.force_login(carol)  # operator, but of tenant B
    assert client.post(replay_url(original), {"mode": "recorded"}).status_code == 404
    assert client.post(reverse("admin:traces_trace_replay", args=["999999"]), {}).status_code == 404
    assert client.post(reverse("admin:traces_trace_replay", args=["abc"]), {}).status_code == 404
    assert not Trace.objects.filter(source=TraceSource.REPLAY).exists()


@pytest.mark.parametrize("who", ["bob", "vic"])
def test_it_refuses_members_without_the_operator_role(client, bob, vic, otto, original, who):
    client.force_login({"bob": bob, "vic": vic}[who])  # developer, viewer of tenant A
    assert 'id="aos-replay-form"' not in client.get(page_url(original)).content.decode()
    assert client.post(replay_url(original), {"mode": "recorded"}).status_code == 403
    assert not Trace.objects.filter(source=TraceSource.REPLAY).exists()


def test_it_needs_the_operator_role_in_the_traces_own_tenant(client, otto, tenant_b, original):
    # otto is an operator of A and a viewer of B: A's trace may be replayed, B's may not.
    from tests.traces.tracebuild import store

    theirs = store(tenant_b, trace_id="b-trace", steps=1)
    client.force_login(otto)
    assert client.post(replay_url(theirs), {"mode": "recorded", "form_token": uuid.uuid4().hex}).status_code == 403
    assert submit(client, original, follow=False, mode="recorded").status_code == 302
    assert Trace.objects.filter(source=TraceSource.REPLAY, replay_of=original).count() == 1


def test_it_needs_a_post_with_a_csrf_token(alice, original):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(replay_url(original)).status_code == 302  # a GET replays nothing
    assert client.post(replay_url(original), {"mode": "recorded"}).status_code == 403
    token = client.get(page_url(original)).context["csrf_token"]
    data = {"mode": "recorded", "csrfmiddlewaretoken": token, "form_token": form_token(client, original)}
    assert client.post(replay_url(original), data).status_code == 302
    assert Trace.objects.filter(source=TraceSource.REPLAY).count() == 1


def test_it_reports_bad_input_and_policy_refusals_as_messages(client, alice, tenant_a, original):
    client.force_login(alice)
    response = client.post(replay_url(original), {"mode": "sideways"}, follow=True)
    assert response.status_code == 200 and "Replay refused: * mode" in response.content.decode()
    tenant_a.allowed_skills = ["json_transform"]  # the policy changed since the run: llm_invoke is out
    tenant_a.save()
    response = submit(client, original, mode="recorded")
    assert "Replay refused (permission_denied): plan[1].skill: Skill &#x27;llm_invoke&#x27; is not allowed" in (
        response.content.decode()
    )
    assert not Trace.objects.filter(source=TraceSource.REPLAY).exists()


def test_it_offers_no_replay_for_a_run_still_in_flight(client, alice, original):
    Trace.objects.filter(pk=original.pk).update(status="running")
    client.force_login(alice)
    assert 'id="aos-replay-form"' not in client.get(page_url(original)).content.decode()
    response = client.post(replay_url(original), {"mode": "recorded", "form_token": uuid.uuid4().hex}, follow=True)
    assert (
        "Replay refused (conflict)" in response.content.decode() and "only finished runs" in response.content.decode()
    )
    assert not Trace.objects.filter(source=TraceSource.REPLAY).exists()


def test_it_replays_once_when_the_same_form_is_posted_twice(client, alice, original):
    client.force_login(alice)
    data = {"mode": "recorded", "form_token": form_token(client, original)}
    first = client.post(replay_url(original), data)
    second = client.post(replay_url(original), data, follow=True)  # a double click, a resubmitted form

    replay = Trace.objects.get(source=TraceSource.REPLAY)  # one run, not two
    assert first.status_code == 302 and first["Location"] == page_url(replay)
    assert second.redirect_chain == [(page_url(replay), 302)]
    page = second.content.decode()
    assert (
        f'This replay form was already submitted: replay <a href="{page_url(replay)}">{replay.trace_id}</a> (parity).'
        " Nothing was run again." in page
    )
    record = IdempotencyRecord.objects.get()
    assert record.tenant_id == original.tenant_id and record.run_id == replay.run_id
    assert record.state == IdempotencyRecord.State.COMPLETED


def test_it_replays_again_from_a_freshly_loaded_form(client, alice, original):
    client.force_login(alice)
    submit(client, original, mode="recorded")
    submit(client, original, mode="recorded")  # the page reloaded: a new token, a deliberate second replay
    assert Trace.objects.filter(source=TraceSource.REPLAY, replay_of=original).count() == 2


def test_it_refuses_a_form_token_reused_for_another_replay_or_missing(client, alice, original):
    client.force_login(alice)
    token = form_token(client, original)
    client.post(replay_url(original), {"mode": "recorded", "form_token": token})
    response = client.post(replay_url(original), {"mode": "live", "form_token": token}, follow=True)
    assert "Replay refused: this form was already used for another replay." in response.content.decode()
    response = client.post(replay_url(original), {"mode": "recorded"}, follow=True)
    assert "Replay refused: the form carries no token" in response.content.decode()
    assert Trace.objects.filter(source=TraceSource.REPLAY).count() == 1


def test_it_lets_a_refused_form_be_sent_again(client, alice, tenant_a, original):
    client.force_login(alice)
    token = form_token(client, original)
    tenant_a.allowed_skills = ["json_transform"]
    tenant_a.save()
    refused = client.post(replay_url(original), {"mode": "recorded", "form_token": token}, follow=True)
    assert "Replay refused (permission_denied)" in refused.content.decode()
    assert not IdempotencyRecord.objects.exists()  # nothing ran: the claim was released
    tenant_a.allowed_skills = []
    tenant_a.save()
    client.post(replay_url(original), {"mode": "recorded", "form_token": token})
    assert Trace.objects.filter(source=TraceSource.REPLAY).count() == 1


def test_it_keeps_tokens_per_tenant_and_answers_404_to_the_other_tenant(client, alice, carol, original):
    client.force_login(alice)
    token = form_token(client, original)
    client.force_login(carol)  # operator of B: A's trace does not exist for her, token or not
    assert client.post(replay_url(original), {"mode": "recorded", "form_token": token}).status_code == 404
    assert not IdempotencyRecord.objects.exists() and not Trace.objects.filter(source=TraceSource.REPLAY).exists()


@pytest.mark.django_db(transaction=True)
def test_it_replays_once_when_two_posts_of_the_form_race(alice, original):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("two request threads at once need a server database")
    import threading

    opener = Client()
    opener.force_login(alice)
    data = {"mode": "recorded", "form_token": form_token(opener, original)}
    start = threading.Barrier(2)
    statuses: list[int] = []

    def post() -> None:
        from django.db import connection as own

        client = Client()
        client.force_login(alice)
        start.wait()
        statuses.append(client.post(replay_url(original), data).status_code)
        own.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [302, 302]
    assert Trace.objects.filter(source=TraceSource.REPLAY, replay_of=original).count() == 1
    assert IdempotencyRecord.objects.count() == 1
