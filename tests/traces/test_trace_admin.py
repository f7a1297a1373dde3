"""Trace admin: list, read-only page with steps, compare view, pin action, scoping, query counts."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from tests.traces.tracebuild import build, store
from traces.admin import COUNT_CAP, EstimatedCountPaginator
from traces.models import Trace

LIST = "/admin/traces/trace/"


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-root")


def login(client, user):
    client.force_login(user)
    return client


def change_url(trace: Trace) -> str:
    return reverse("admin:traces_trace_change", args=[trace.pk])


def compare_url(trace: Trace) -> str:
    return reverse("admin:traces_trace_compare", args=[trace.pk])


@pytest.mark.django_db
def test_it_lists_traces_for_a_superuser_across_tenants(client, root, tenant_a, tenant_b):
    store(tenant_a, trace_id="a-trace")
    store(tenant_b, trace_id="b-trace")
    page = login(client, root).get(LIST).content.decode()
    assert "a-trace" in page and "b-trace" in page


@pytest.mark.django_db
def test_it_scopes_the_list_and_pages_to_the_members_tenant(client, alice, carol, tenant_a, tenant_b):
    mine = store(tenant_a, trace_id="a-trace")
    theirs = store(tenant_b, trace_id="b-trace")
    login(client, alice)
    page = client.get(LIST).content.decode()
    assert "a-trace" in page and "b-trace" not in page
    assert "tenant-b" not in page  # not even as a filter choice
    assert client.get(change_url(mine)).status_code == 200
    assert client.get(change_url(theirs)).status_code == 404  # as absent as a deleted trace
    assert client.get(compare_url(theirs)).status_code == 404
    response = client.get(compare_url(mine), {"with_pk": theirs.pk})  # as absent as a deleted trace
    assert response.status_code == 404 and "b-trace" not in response.content.decode()
    assert client.get(compare_url(mine), {"with": "b-trace"}).context["b"] is None


@pytest.mark.django_db
def test_it_searches_by_id_and_hash(client, root, tenant_a):
    one = store(tenant_a, trace_id="searched-one", steps=2)
    store(tenant_a, trace_id="other", steps=3)
    login(client, root)
    for term in ["searched", one.root_hash[:10], one.plan_hash]:
        page = client.get(LIST, {"q": term}).content.decode()
        assert "searched-one" in page and ">other<" not in page, term


@pytest.mark.django_db
def test_it_shows_a_read_only_trace_page_with_pretty_steps(client, vic, tenant_a):
    trace = store(tenant_a, builder=build(trace_id="shown", steps=3, outputs=[{"answer": 42, "nested": {"k": "v"}}]))
    response = login(client, vic).get(change_url(trace))
    page = response.content.decode()
    assert response.status_code == 200
    assert "&quot;answer&quot;: 42,\n  &quot;nested&quot;: {\n    &quot;k&quot;: &quot;v&quot;" in page
    assert 'name="_save"' not in page  # read-only: no save button
    assert "Compare with…" in page
    assert "json_transform" in page  # the step; the plan is loaded when its box is opened:
    plan = client.get(reverse("admin:traces_trace_json", args=[trace.pk, "plan"]))
    assert plan.status_code == 200 and '"skill": "json_transform"' in plan.content.decode()


@pytest.mark.django_db
def test_it_pins_and_unpins_as_an_operator_only(client, alice, bob, tenant_a):
    traces = [store(tenant_a, trace_id=f"p{i}") for i in range(3)]
    data = {"action": "pin_selected", "_selected_action": [traces[0].pk, traces[1].pk]}
    login(client, bob).post(LIST, data)
    assert not Trace.objects.filter(pinned=True).exists()  # developers may not pin

    response = login(client, alice).post(LIST, data, follow=True)
    assert "Pinned 2 traces." in response.content.decode()
    assert set(Trace.objects.filter(pinned=True).values_list("trace_id", flat=True)) == {"p0", "p1"}
    client.post(LIST, {"action": "unpin_selected", "_selected_action": [traces[0].pk]})
    assert set(Trace.objects.filter(pinned=True).values_list("trace_id", flat=True)) == {"p1"}


@pytest.mark.django_db
def test_it_compares_two_traces_side_by_side(client, alice, tenant_a):
    a = store(tenant_a, builder=build(trace_id="left", steps=5))
    b = store(tenant_a, builder=build(trace_id="right", steps=5, outputs=[None, None, None, {"other": 1}]))
    Trace.objects.filter(pk=a.pk).update(run_id="run-left")
    login(client, alice)

    response = client.get(compare_url(b), {"with": "run-left"})

    assert response.status_code == 200
    assert response.context["divergence"]["step_index"] == 0  # outputs[0] None vs {"step": 0...}
    steps = response.context["steps"]
    assert len(steps) == 5
    page = response.content.decode()
    assert 'id="first-divergence"' in page and 'class="differs"' in page


@pytest.mark.django_db
def test_it_highlights_only_differing_steps(client, alice, tenant_a):
    base = [{"v": i} for i in range(5)]
    store(tenant_a, builder=build(trace_id="x", steps=5, outputs=base))
    y = store(tenant_a, builder=build(trace_id="y", steps=5, outputs=[*base[:3], {"v": "changed"}, base[4]]))
    response = login(client, alice).get(compare_url(y), {"with": "x"})
    assert response.context["divergence"] == {
        "step_index": 3,
        "reason": "output_mismatch",
        "a": y.steps.get(index=3).output_hash,
        "b": Trace.objects.get(trace_id="x").steps.get(index=3).output_hash,
    }
    differing = [s["index"] for s in response.context["steps"] if s["differs"]]
    assert differing == [3]
    step3 = {f["name"]: f["differs"] for f in response.context["steps"][3]["fields"]}
    assert step3["output"] and step3["output_hash"] and not step3["skill_id"] and not step3["params"]


@pytest.mark.django_db
def test_it_redirects_the_compare_action_for_two_selected(client, alice, tenant_a):
    one, two = store(tenant_a, trace_id="one"), store(tenant_a, trace_id="two")
    login(client, alice)
    response = client.post(LIST, {"action": "compare_selected", "_selected_action": [one.pk, two.pk]})
    assert response.status_code == 302 and "/compare/?with_pk=" in response["Location"]
    assert client.get(response["Location"]).status_code == 200
    warned = client.post(LIST, {"action": "compare_selected", "_selected_action": [one.pk]}, follow=True)
    assert "Select exactly two traces" in warned.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["root", "alice"])
def test_it_lists_with_a_constant_number_of_queries(client, root, alice, tenant_a, who, django_assert_max_num_queries):
    user = root if who == "root" else alice
    login(client, user)
    for i in range(3):
        store(tenant_a, trace_id=f"few-{i}", steps=2)
    with django_assert_max_num_queries(20) as few:
        assert client.get(LIST).status_code == 200
    for i in range(40):
        store(tenant_a, trace_id=f"many-{i}", steps=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(LIST)
    assert page.status_code == 200 and "many-39" in page.content.decode()
    # No unbounded COUNT(*) over the trace table (counts are capped or estimated).
    counts = [q["sql"] for q in few.captured_queries if "COUNT(" in q["sql"].upper() and "traces_trace" in q["sql"]]
    assert all("LIMIT" in sql.upper() or "reltuples" in sql for sql in counts)


@pytest.mark.django_db
def test_it_shows_trace_pages_with_a_constant_number_of_queries(client, alice, tenant_a, django_assert_max_num_queries):
    small = store(tenant_a, trace_id="small", steps=2)
    large = store(tenant_a, trace_id="large", steps=60)
    login(client, alice)
    with django_assert_max_num_queries(20) as few:
        assert client.get(change_url(small)).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(change_url(large)).status_code == 200
    with django_assert_max_num_queries(20) as cmp_small:
        assert client.get(compare_url(small), {"with": "small"}).status_code == 200
    with django_assert_max_num_queries(len(cmp_small.captured_queries)):
        assert client.get(compare_url(large), {"with": "large"}).status_code == 200


@pytest.mark.django_db
def test_it_estimates_or_caps_the_count(tenant_a):
    for i in range(3):
        store(tenant_a, trace_id=f"t{i}", steps=1)
    assert EstimatedCountPaginator(Trace.objects.all(), 50).count == 3
    assert EstimatedCountPaginator(Trace.objects.filter(tenant=tenant_a), 50).count == 3
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE traces_trace")
            # Pretend the planner believes the table is huge: the unfiltered count is the estimate.
            cursor.execute("UPDATE pg_class SET reltuples = 2000000 WHERE relname = 'traces_trace'")
        assert EstimatedCountPaginator(Trace.objects.all(), 50).count == 2_000_000
        assert EstimatedCountPaginator(Trace.objects.filter(tenant=tenant_a), 50).count == 3
    assert COUNT_CAP >= 10_000


@pytest.mark.django_db
def test_it_lists_one_trace_and_thirty_in_the_same_number_of_queries(
    client, alice, tenant_a, django_assert_max_num_queries
):
    store(tenant_a, trace_id="only-one", steps=2)
    login(client, alice)
    with django_assert_max_num_queries(20) as one:
        assert client.get(LIST).status_code == 200
    for i in range(29):
        store(tenant_a, trace_id=f"one-of-thirty-{i}", steps=2)
    with django_assert_max_num_queries(len(one.captured_queries)) as thirty:
        page = client.get(LIST)
    assert page.context["cl"].result_count == 30
    assert len(thirty.captured_queries) == len(one.captured_queries)


@pytest.mark.django_db
def test_it_searches_by_agent_and_filters_by_agent_and_error_code(client, alice, tenant_a, tenant_b):
    pricing = store(tenant_a, trace_id="t-pricing", agent_id="pricing-agent", steps=1)
    support = store(tenant_a, trace_id="t-support", agent_id="support-agent", steps=1)
    Trace.objects.filter(pk=support.pk).update(status="failed", error_code="budget_exceeded")
    other = store(tenant_b, trace_id="t-other", agent_id="tenant-b-secret-agent", steps=1)
    Trace.objects.filter(pk=other.pk).update(status="failed", error_code="tenant_b_secret_code")
    login(client, alice)

    def listed(query):
        return {t.pk for t in client.get(LIST + query).context["cl"].result_list}

    assert listed("?q=pricing-ag") == {pricing.pk}
    assert listed("?agent=support-agent") == {support.pk}
    assert listed("?error_code=budget_exceeded") == {support.pk}
    assert listed("?agent=tenant-b-secret-agent") == set()
    html = client.get(LIST).content.decode()
    assert 'href="?agent=pricing-agent"' in html and 'href="?error_code=budget_exceeded"' in html
    assert "tenant-b-secret" not in html and "tenant_b_secret_code" not in html  # only the user's tenants
