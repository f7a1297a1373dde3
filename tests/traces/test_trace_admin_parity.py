"""Trace list in the admin: a "diverged" badge on replays that diverged, a parity filter (issue 19, item 2)."""

from __future__ import annotations

import re

import pytest

from tests.traces.tracebuild import store
from traces.models import Trace, TraceSource

LIST = "/admin/traces/trace/"


def _replay(tenant, trace_id: str, *, of: Trace, parity: bool) -> Trace:
    trace = store(tenant, trace_id=trace_id, steps=2)
    Trace.objects.filter(pk=trace.pk).update(source=TraceSource.REPLAY, replay_of=of, parity=parity)
    return trace


@pytest.fixture
def traces(tenant_a, tenant_b):
    original = store(tenant_a, trace_id="orig-run", steps=2)
    _replay(tenant_a, "replay-matched", of=original, parity=True)
    _replay(tenant_a, "replay-diverged", of=original, parity=False)
    other = store(tenant_b, trace_id="b-orig", steps=2)
    _replay(tenant_b, "b-replay-diverged", of=other, parity=False)


def _rows(page: str) -> dict[str, str]:
    """{trace_id: the row's parity cell text} of the change list."""
    rows = {}
    for row in re.findall(r"<tr>.*?</tr>", page, flags=re.S):
        trace_id = re.search(r'<th class="field-trace">(.*?)</th>', row, flags=re.S)
        parity = re.search(r'<td class="field-replay_parity">(.*?)</td>', row, flags=re.S)
        if trace_id and parity:
            whole = re.search(r'class="aos-id" title="([^"]+)"', trace_id.group(1))  # a shortened id, whole on hover
            name = whole.group(1) if whole else re.sub(r"<[^>]+>", "", trace_id.group(1)).strip()
            rows[name] = re.sub(r"<[^>]+>", "", parity.group(1)).strip()
    return rows


@pytest.mark.django_db
def test_it_badges_a_diverged_replay_differently_from_one_that_matched(client, alice, traces):
    client.force_login(alice)
    page = client.get(LIST).content.decode()
    assert _rows(page) == {"orig-run": "—", "replay-matched": "matched", "replay-diverged": "diverged"}
    assert page.count("aos-parity-diverged") == 1 and page.count("aos-parity-matched") == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "listed"), [("false", {"replay-diverged"}), ("true", {"replay-matched"}), ("none", {"orig-run"})]
)
def test_it_filters_the_list_by_parity_within_the_members_tenant(client, alice, traces, value, listed):
    client.force_login(alice)
    response = client.get(LIST, {"parity": value})
    assert response.status_code == 200
    assert set(_rows(response.content.decode())) == listed  # tenant B's diverged replay never shows


@pytest.mark.django_db
def test_it_offers_the_parity_filter_in_the_sidebar(client, alice, traces):
    client.force_login(alice)
    page = client.get(LIST).content.decode()
    assert 'href="?parity=false"' in page and ">diverged</a>" in page and ">not a replay</a>" in page


@pytest.mark.django_db
def test_it_answers_a_bad_parity_value_with_the_admins_error_page(client, alice, traces):
    client.force_login(alice)
    response = client.get(LIST, {"parity": "maybe"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


@pytest.mark.django_db
def test_it_lists_parity_with_a_constant_number_of_queries(
    client, alice, tenant_a, traces, django_assert_max_num_queries
):
    client.force_login(alice)
    with django_assert_max_num_queries(20) as few:
        assert client.get(LIST, {"parity": "false"}).status_code == 200
    original = Trace.objects.get(trace_id="orig-run")
    for i in range(20):
        _replay(tenant_a, f"more-div-{i}", of=original, parity=False)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(LIST, {"parity": "false"}).content.decode()
    assert len(_rows(page)) == 21
