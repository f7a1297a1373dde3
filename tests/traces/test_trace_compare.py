"""The admin's compare view (original vs replay): summary from the hashes, paginated steps, tenants.

A compare of two 10,000-step traces costs the queries of two 100-step ones; the page opens on the
first divergence; only differing steps carry their JSON; bad query values give a page with a note.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.traces.tracebuild import build, bulk_trace, store
from traces.models import Trace
from triage.groups import group_join


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-root")


def compare_url(trace: Trace) -> str:
    return reverse("admin:traces_trace_compare", args=[trace.pk])


def pair(tenant, steps: int, *, diverge_at: int | None, name: str = "t", replay_steps: int | None = None):
    run = bulk_trace(tenant, trace_id=f"{name}-{steps}", steps=steps)
    replay = bulk_trace(
        tenant,
        trace_id=f"{name}-{steps}-replay",
        steps=steps if replay_steps is None else replay_steps,
        source="replay",
        replay_of=run,
        metadata={"replay": {"mode": "recorded", "parity": diverge_at is None}},
        diverge_at=diverge_at,
    )
    return run, replay


def rows(response) -> list[int]:
    return [row["index"] for row in response.context["steps"]]


@pytest.mark.django_db
def test_two_10000_step_traces_cost_the_queries_of_two_100_step_ones(
    client, alice, tenant_a, django_assert_max_num_queries, django_assert_num_queries
):
    small_run, small_replay = pair(tenant_a, 100, diverge_at=50, name="small")
    large_run, large_replay = pair(tenant_a, 10_000, diverge_at=9_950, name="large")
    client.force_login(alice)
    with django_assert_max_num_queries(20) as small:
        response = client.get(compare_url(small_run), {"with_pk": small_replay.pk})
    assert response.status_code == 200 and response.context["summary"].differing == 1
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(compare_url(large_run), {"with_pk": large_replay.pk})
    assert response.status_code == 200
    # No query reads a step's JSON except the one for the page's differing steps.
    assert response.context["page"].number == 100 and rows(response) == list(range(9_900, 10_000))
    assert len(response.content) < 400_000  # one page, not 10,000 steps
    # The "with" lookup and the toggle cost the same whatever the size.
    with django_assert_max_num_queries(20) as small_only:
        client.get(compare_url(small_run), {"with": small_replay.trace_id, "only": "differing"})
    with django_assert_num_queries(len(small_only.captured_queries)):
        only = client.get(compare_url(large_run), {"with": large_replay.trace_id, "only": "differing"})
    assert rows(only) == [9_950]


@pytest.mark.django_db
def test_the_summary_and_the_default_page_show_the_first_divergence(client, alice, tenant_a):
    run, replay = pair(tenant_a, 1_000, diverge_at=450)
    mismatch = run.mismatches.create(
        tenant=tenant_a,
        reported_by="replay",
        step_index=450,
        skill_id="json_transform",
        reason="output_mismatch",
        fingerprint="f" * 64,
        details={"replay_run_id": replay.run_id},
    )
    group = group_join(mismatch=mismatch)
    client.force_login(alice)

    response = client.get(compare_url(run), {"with_pk": replay.pk})

    summary = response.context["summary"]
    assert (summary.equal, summary.differing, summary.count_difference, summary.first_difference) == (999, 1, 0, 450)
    assert response.context["divergence"]["step_index"] == 450
    assert response.context["divergence"]["reason"] == "output_mismatch"
    assert not response.context["comparison"]["match"]
    page = response.context["page"]
    assert (page.number, page.num_pages) == (5, 10) and rows(response) == list(range(400, 500))
    assert [row["index"] for row in response.context["steps"] if row["differs"]] == [450]
    html = response.content.decode()
    assert 'id="step-450"' in html and 'class="aos-step-head differs" id="step-450"' in html
    assert "step 2 (output_mismatch)" not in html and "step 450 (output_mismatch)" in html
    # The differing step shows both outputs; an equal one links its JSON instead.
    assert "&quot;value&quot;: -1" in html and "&quot;value&quot;: 4500" in html
    assert "&quot;value&quot;: 4510" not in html  # step 451 is equal: not read
    json_a = reverse("admin:traces_trace_json", args=[run.pk, "output"])
    assert f"{json_a}?step=451" in html
    # Links: each trace at the step, the mismatch and its group.
    assert f"{reverse('admin:traces_trace_change', args=[replay.pk])}?step=450#step-450" in html
    assert reverse("admin:triage_mismatch_change", args=[mismatch.pk]) in html
    assert reverse("admin:triage_mismatchgroup_change", args=[group.pk]) in html
    assert "Root hashes <strong>differ</strong>" in html


@pytest.mark.django_db
def test_page_n_and_step_n_show_their_rows(client, alice, tenant_a):
    run, replay = pair(tenant_a, 1_000, diverge_at=450)
    client.force_login(alice)
    url = compare_url(run)
    assert rows(client.get(url, {"with_pk": replay.pk, "page": "1"})) == list(range(0, 100))
    assert rows(client.get(url, {"with_pk": replay.pk, "page": "10"})) == list(range(900, 1000))
    focused = client.get(url, {"with_pk": replay.pk, "step": "123"})
    assert focused.context["page"].number == 2 and 123 in rows(focused)
    html = client.get(url, {"with_pk": replay.pk, "page": "3"}).content.decode()
    assert f"?with_pk={replay.pk}&amp;page=4" in html and f"?with_pk={replay.pk}&amp;page=10" in html


@pytest.mark.django_db
def test_only_differing_steps_toggle(client, alice, tenant_a):
    # 250 steps against 130: step 40 differs, and 120 steps exist on one side only.
    run, replay = pair(tenant_a, 250, diverge_at=40, replay_steps=130)
    client.force_login(alice)
    url = compare_url(run)
    response = client.get(url, {"with_pk": replay.pk})
    summary = response.context["summary"]
    assert (summary.equal, summary.differing, summary.count_difference) == (129, 121, -120)
    assert f"?with_pk={replay.pk}&amp;only=differing" in response.content.decode()

    only = client.get(url, {"with_pk": replay.pk, "only": "differing"})
    assert only.context["page"].num_pages == 2
    assert rows(only) == [40, *range(130, 229)]
    assert all(row["differs"] for row in only.context["steps"])
    assert rows(client.get(url, {"with_pk": replay.pk, "only": "differing", "page": "2"})) == [229, *range(230, 250)]
    # ?step=N in that mode opens the page holding it among the differing steps.
    assert client.get(url, {"with_pk": replay.pk, "only": "differing", "step": "240"}).context["page"].number == 2
    missing = client.get(url, {"with_pk": replay.pk, "only": "differing", "page": "2"}).content.decode()
    assert '<td class="b"><code>—</code></td>' in missing  # a step the replay does not have


@pytest.mark.django_db
def test_equal_traces_say_identical(client, alice, tenant_a):
    run, replay = pair(tenant_a, 120, diverge_at=None)
    Trace.objects.filter(pk=replay.pk).update(root_hash=run.root_hash)
    client.force_login(alice)
    response = client.get(compare_url(run), {"with_pk": replay.pk})
    assert response.context["comparison"]["match"] and response.context["divergence"] is None
    assert response.context["summary"].differing == 0 and response.context["page"].number == 1
    html = response.content.decode()
    assert 'id="compare-identical"' in html and ">identical</span>" in html
    only = client.get(compare_url(run), {"with_pk": replay.pk, "only": "differing"})
    assert rows(only) == [] and "No differing steps." in only.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "0"},
        {"page": "99999999999999999999999"},
        {"page": "²"},
        {"step": "-1"},
        {"step": "1000000"},
        {"only": "everything"},
        {"page": "5", "step": "x", "only": "differing"},
    ],
)
def test_bad_query_values_give_a_page_with_a_note(client, alice, tenant_a, query):
    run, replay = pair(tenant_a, 300, diverge_at=10)
    client.force_login(alice)
    response = client.get(compare_url(run), {"with_pk": replay.pk, **query})
    assert response.status_code == 200
    assert 'id="compare-note"' in response.content.decode()
    assert response.context["page"].notice


@pytest.mark.django_db
@pytest.mark.parametrize("with_pk", ["abc", "-3", "9999999", "１"])
def test_a_bad_or_unknown_other_trace_is_a_404_page_with_a_note(client, alice, tenant_a, with_pk):
    run = bulk_trace(tenant_a, trace_id="only-one", steps=3)
    client.force_login(alice)
    response = client.get(compare_url(run), {"with_pk": with_pk})
    assert response.status_code == 404 and 'id="compare-note"' in response.content.decode()
    assert response.context["b"] is None


@pytest.mark.django_db
def test_another_tenants_trace_on_either_side_is_a_404(client, alice, root, tenant_a, tenant_b):
    mine = bulk_trace(tenant_a, trace_id="mine", steps=5)
    theirs = bulk_trace(tenant_b, trace_id="theirs", steps=5, diverge_at=2)
    client.force_login(alice)
    assert client.get(compare_url(theirs), {"with_pk": mine.pk}).status_code == 404
    for query in ({"with_pk": theirs.pk}, {"with": "theirs"}, {"with": theirs.run_id}):
        response = client.get(compare_url(mine), query)
        assert response.status_code == 404 and response.context["b"] is None, query
        assert "tenant-b" not in response.content.decode()
    # Its JSON views, linked from the page, are as absent.
    assert client.get(reverse("admin:traces_trace_json", args=[theirs.pk, "output"]), {"step": 2}).status_code == 404
    # Platform staff compare across tenants; `with` prefers the same tenant's trace.
    bulk_trace(tenant_a, trace_id="theirs", steps=5, run_id="run-theirs-a")
    client.force_login(root)
    response = client.get(compare_url(mine), {"with_pk": theirs.pk})
    assert response.status_code == 200 and response.context["summary"].differing == 1
    same_tenant = client.get(compare_url(mine), {"with": "theirs"}).context["b"]
    assert same_tenant.tenant_id == tenant_a.pk


@pytest.mark.django_db
def test_it_escapes_what_the_traces_recorded(client, alice, tenant_a):
    evil = "<script>alert(1)</script>"
    a = store(tenant_a, builder=build(trace_id="esc-a", steps=2))
    b = store(tenant_a, builder=build(trace_id="esc-b", steps=2, outputs=[{"x": evil}]))
    client.force_login(alice)
    html = client.get(compare_url(a), {"with_pk": b.pk}).content.decode()
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
