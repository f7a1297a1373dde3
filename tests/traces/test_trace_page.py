"""The admin trace page (issue 19): a paginated timeline, divergence banner, links, query counts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.traces.tracebuild import bulk_trace, store
from traces.models import Trace
from traces.timeline import STEP_JSON_SHOWN, STEPS_PER_PAGE, output_tokens, timeline_page, trace_parity


def page_of(client, trace: Trace, **params) -> str:
    response = client.get(reverse("admin:traces_trace_change", args=[trace.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def step_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<details class="aos-step[^"]*" id="step-(\d+)"', page)]


def open_steps(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<details class="aos-step[^"]*" id="step-(\d+)" open>', page)]


def diverged_replay(tenant, original: Trace, *, at: int, steps: int, with_mismatch: bool = True) -> Trace:
    replay = bulk_trace(
        tenant,
        trace_id="replay-1",
        steps=steps,
        source="replay",
        replay_of=original,
        metadata={"replay": {"mode": "recorded", "parity": False}},
        diverge_at=at,
    )
    if with_mismatch:  # what the runtime records on the original when a replay diverges
        original.mismatches.create(
            tenant=tenant,
            reported_by="replay",
            step_index=at,
            skill_id="llm_invoke",
            reason="output_mismatch",
            fingerprint="f" * 64,
            details={"replay_run_id": replay.run_id},
        )
    return replay


@pytest.mark.django_db
def test_it_shows_at_most_100_steps_a_page(client, vic, tenant_a):
    trace = bulk_trace(tenant_a, trace_id="long", steps=250)
    client.force_login(vic)
    assert STEPS_PER_PAGE == 100
    assert step_ids(page_of(client, trace)) == list(range(100))
    assert step_ids(page_of(client, trace, steps_page=3)) == list(range(200, 250))
    page = page_of(client, trace, steps_page=2)
    assert step_ids(page) == list(range(100, 200))
    assert "Steps 100–199 of 250" in page
    assert 'href="?steps_page=3#aos-timeline" rel="next"' in page and 'rel="prev"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["abc", "-1", "0", "999999", "1e3", " ", "9" * 40, "²", "1.5", "<b>2</b>"])
def test_it_clamps_a_bad_page_number_instead_of_failing(client, vic, tenant_a, bad):
    trace = bulk_trace(tenant_a, trace_id="long", steps=150)
    client.force_login(vic)
    page = page_of(client, trace, steps_page=bad, step=bad)
    ids = step_ids(page)
    assert ids in (list(range(100)), list(range(100, 150)))
    notice = page.split('id="aos-timeline-notice"')[1].split("</p>")[0]
    assert "There is no step page" in notice and "(pages 1–2)" in notice and "There is no step" in notice
    assert f"Showing page {1 if ids[0] == 0 else 2}." in notice
    assert "<b>" not in notice  # what was asked is quoted, escaped


@pytest.mark.django_db
def test_it_says_nothing_about_good_page_numbers(client, vic, tenant_a):
    trace = bulk_trace(tenant_a, trace_id="long", steps=150)
    client.force_login(vic)
    assert "aos-timeline-notice" not in page_of(client, trace, steps_page="2")
    assert "aos-timeline-notice" not in page_of(client, trace, step="149")


@pytest.mark.django_db
def test_it_opens_the_page_of_a_named_step_with_that_step_expanded(client, vic, tenant_a):
    trace = bulk_trace(tenant_a, trace_id="long", steps=250)
    client.force_login(vic)
    page = page_of(client, trace, step=142)
    assert step_ids(page) == list(range(100, 200))
    assert open_steps(page) == [142]


@pytest.mark.django_db
def test_it_draws_the_waterfall_from_the_step_durations(tenant_a):
    trace = bulk_trace(tenant_a, trace_id="w", steps=150)
    durations = list(trace.steps.order_by("index").values_list("duration_ms", flat=True))
    timeline = timeline_page(trace=trace, page="2")
    first = timeline.rows[0]
    assert first.step.index == 100
    assert first.offset_ms == pytest.approx(sum(durations[:100]))
    assert first.left_pct == pytest.approx(100 * sum(durations[:100]) / sum(durations), abs=0.001)
    assert first.width_pct == pytest.approx(100 * durations[100] / sum(durations), abs=0.001)
    assert timeline.rows[1].offset_ms == pytest.approx(first.offset_ms + durations[100])
    assert timeline.total_ms == pytest.approx(sum(durations))


def test_it_reads_token_usage_from_llm_outputs():
    local = {"content": "hi", "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}}
    assert output_tokens(local) == {"prompt": 12, "completion": 30, "total": 42}
    assert output_tokens({"usage": {"input_tokens": 5, "output_tokens": 7}}) == {
        "prompt": 5,
        "completion": 7,
        "total": 12,
    }
    for no_usage in [None, [], "text", {"y": 1}, {"usage": "many"}, {"usage": {"prompt_tokens": "12"}}]:
        assert output_tokens(no_usage) is None


@pytest.mark.django_db
def test_it_shows_each_step_with_status_cost_tokens_retries_replay_and_full_hashes(client, vic, tenant_a):
    trace = bulk_trace(tenant_a, trace_id="t", steps=10)
    llm = trace.steps.get(index=2)
    client.force_login(vic)
    page = page_of(client, trace)
    block = page.split('id="step-2"')[1].split("</details>")[0]
    assert "llm_invoke" in block and "aos-status-succeeded" in block and "0.50 ¢" in block
    assert ">42<" in block or ">44<" in block  # total tokens from output.usage
    assert '<span class="aos-replay">check</span>' in block
    for full_hash in (llm.input_hash, llm.output_hash, llm.step_hash):
        assert f'<code class="aos-hash">{full_hash}</code>' in block
        assert f'data-copy="{full_hash}"' in block
    assert "&quot;usage&quot;: {" in block  # the output as indented JSON
    retried = page.split('id="step-7"')[1].split("</details>")[0]
    assert '<span class="aos-num">1</span>' in retried
    assert re.search(r">\s*\d+#\d+ json_transform\s*<", page) is None  # the old inline's stray labels
    assert "traces/trace_page.js" in page and "traces/trace_page.css" in page


@pytest.mark.django_db
def test_it_banners_a_diverged_replay_and_highlights_the_step_on_its_page(client, vic, tenant_a):
    original = bulk_trace(tenant_a, trace_id="orig", steps=300)
    replay = diverged_replay(tenant_a, original, at=142, steps=300)
    client.force_login(vic)
    page = page_of(client, replay)
    assert 'id="aos-divergence-banner"' in page
    assert "Diverged at step 142 (output_mismatch)" in page
    assert step_ids(page) == list(range(100, 200))  # the page holding the diverging step
    assert re.findall(r'class="aos-step[^"]*aos-diverged[^"]*" id="step-(\d+)"', page) == ["142"]
    mismatch = original.mismatches.get()
    assert reverse("admin:triage_mismatch_change", args=[mismatch.pk]) in page
    assert f"{reverse('admin:traces_trace_compare', args=[replay.pk])}?with_pk={original.pk}" in page
    # Another page of the same replay: still the banner, no highlighted row on it.
    other = page_of(client, replay, steps_page=1)
    assert "Diverged at step 142" in other and 'aos-diverged"' not in other


@pytest.mark.django_db
def test_it_finds_the_diverging_step_from_the_hashes_without_a_mismatch(client, vic, tenant_a):
    original = bulk_trace(tenant_a, trace_id="orig", steps=30)
    replay = diverged_replay(tenant_a, original, at=17, steps=30, with_mismatch=False)
    client.force_login(vic)
    assert "Diverged at step 17" in page_of(client, replay)


@pytest.mark.django_db
def test_it_reads_parity_from_the_column_of_replays_only(tenant_a):
    original = bulk_trace(tenant_a, trace_id="orig", steps=3)
    same = bulk_trace(
        tenant_a, trace_id="same", steps=3, source="replay", replay_of=original, metadata={"replay": {"parity": True}}
    )
    odd = bulk_trace(tenant_a, trace_id="odd", steps=3, source="replay", metadata={"replay": "yes"})
    Trace.objects.filter(pk=original.pk).update(parity=False)  # a run is no replay, whatever the column says
    original.refresh_from_db()
    assert [trace_parity(t) for t in (original, same, odd)] == [None, True, None]


@pytest.mark.django_db
def test_it_links_a_trace_to_its_replays_mismatches_and_the_compare_view(client, vic, tenant_a, tenant_b):
    original = bulk_trace(tenant_a, trace_id="orig", steps=5)
    good = bulk_trace(
        tenant_a, trace_id="good", steps=5, source="replay", replay_of=original, metadata={"replay": {"parity": True}}
    )
    bad = diverged_replay(tenant_a, original, at=3, steps=5)
    client.force_login(vic)
    page = page_of(client, original)
    links = page.split('id="aos-links"')[1].split("</ul>\n\n")[0]
    for replay in (good, bad):
        assert reverse("admin:traces_trace_change", args=[replay.pk]) in links
        assert f"{reverse('admin:traces_trace_compare', args=[original.pk])}?with_pk={replay.pk}" in links
    assert "aos-badge-diverged" in links and "aos-badge-parity" in links
    assert "step 3: output_mismatch" in links and 'href="?step=3#step-3"' in links
    replays_list = client.get(reverse("admin:traces_trace_changelist"), {"replay_of__id__exact": original.pk})
    assert replays_list.status_code == 200 and {t.pk for t in replays_list.context["cl"].result_list} == {
        good.pk,
        bad.pk,
    }
    # The replay links back to its original and to the compare view, which opens.
    replay_page = page_of(client, good)
    assert 'id="aos-parity-banner"' in replay_page
    assert reverse("admin:traces_trace_change", args=[original.pk]) in replay_page
    compare = f"{reverse('admin:traces_trace_compare', args=[good.pk])}?with_pk={original.pk}"
    assert compare in replay_page and client.get(compare).status_code == 200


@pytest.mark.django_db
def test_it_shows_times_with_seconds_in_utc(client, vic, tenant_a):
    trace = store(tenant_a, trace_id="timed", steps=1)
    stamp = trace.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    client.force_login(vic)
    assert stamp in page_of(client, trace)
    assert stamp in client.get(reverse("admin:traces_trace_changelist")).content.decode()


@pytest.mark.django_db
def test_it_shortens_long_ids_in_the_list_with_the_full_id_on_hover(client, vic, tenant_a):
    trace = store(tenant_a, trace_id="tr_" + "a" * 32, steps=1)
    Trace.objects.filter(pk=trace.pk).update(run_id="run_" + "b" * 32)
    client.force_login(vic)
    page = client.get(reverse("admin:traces_trace_changelist")).content.decode()
    assert f'title="tr_{"a" * 32}">tr_{"a" * 9}…</span>' in page  # the first 12 characters
    assert f'title="run_{"b" * 32}">run_{"b" * 8}…</span>' in page


@pytest.fixture
def huge(tenant_a) -> Trace:
    return bulk_trace(tenant_a, trace_id="huge", steps=10_000)


@pytest.mark.django_db
def test_it_shows_steps_100_n_minus_1_onwards_on_page_n(client, vic, huge):
    client.force_login(vic)
    for number in (1, 2, 57, 100):
        page = page_of(client, huge, steps_page=number)
        first = 100 * (number - 1)
        assert step_ids(page) == list(range(first, first + 100)), number
        assert f"Steps {first}–{first + 99} of 10000" in page
        assert f'<span class="this-page">{number}</span>' in page


@pytest.mark.django_db
def test_it_opens_the_page_holding_step_n(client, vic, huge):
    client.force_login(vic)
    for index in (0, 99, 100, 5_555, 9_999):
        page = page_of(client, huge, step=index)
        first = index // 100 * 100
        assert step_ids(page) == list(range(first, first + 100)), index
        assert open_steps(page) == [index]


@pytest.mark.django_db
def test_it_opens_a_10000_step_trace_with_as_many_queries_as_a_100_step_one(
    client, alice, tenant_a, huge, django_assert_max_num_queries
):
    small = bulk_trace(tenant_a, trace_id="small", steps=100)
    replay = diverged_replay(tenant_a, huge, at=9_950, steps=10_000)
    client.force_login(alice)  # an operator: the replay form too
    with django_assert_max_num_queries(12) as of_small:
        page_of(client, small)
    with django_assert_max_num_queries(12) as of_huge:
        page = page_of(client, huge)
    assert len(of_huge.captured_queries) == len(of_small.captured_queries)
    assert len(step_ids(page)) == 100 and 'id="aos-replay-form"' in page
    first_view = len(of_huge.captured_queries)
    # The page's durations are cached once the trace finished: any later page has one query less.
    with django_assert_max_num_queries(first_view - 1) as later:
        assert step_ids(page_of(client, huge, step=9_999)) == list(range(9_900, 10_000))
    with django_assert_max_num_queries(len(later.captured_queries)):
        page_of(client, small, steps_page=1)
    with django_assert_max_num_queries(first_view + 2):  # + the replay's mismatch and original
        assert "Diverged at step 9950" in page_of(client, replay)


@pytest.mark.django_db
def test_it_reads_the_trace_without_its_json_and_loads_it_on_demand(client, vic, tenant_a):
    trace = bulk_trace(tenant_a, trace_id="lazy", steps=120, metadata={"marker": "metadata-marker-7"})
    Trace.objects.filter(pk=trace.pk).update(input={"marker": "input-marker-7"})
    client.force_login(vic)
    page = page_of(client, trace)
    assert "metadata-marker-7" not in page and "input-marker-7" not in page
    for part in ("plan", "input", "metadata"):
        url = reverse("admin:traces_trace_json", args=[trace.pk, part])
        assert f'<details class="aos-lazy-json" data-src="{url}">' in page and f'href="{url}"' in page
    plan = client.get(reverse("admin:traces_trace_json", args=[trace.pk, "plan"]))
    assert plan.status_code == 200 and plan["Content-Type"].startswith("application/json")
    assert "no-store" in plan["Cache-Control"]  # the admin's never_cache: tenant data stays off shared caches
    assert plan.json() == trace.plan and plan.content.decode().startswith("[\n  {")  # indented, whole
    assert client.get(reverse("admin:traces_trace_json", args=[trace.pk, "input"])).json() == {
        "marker": "input-marker-7"
    }
    assert client.get(reverse("admin:traces_trace_json", args=[trace.pk, "metadata"])).json() == {
        "marker": "metadata-marker-7"
    }
    output = client.get(reverse("admin:traces_trace_json", args=[trace.pk, "output"]), {"step": "117"})
    assert output.json() == trace.steps.get(index=117).output
    params = client.get(reverse("admin:traces_trace_json", args=[trace.pk, "params"]), {"step": "0"})
    assert params.json() == trace.steps.get(index=0).params


@pytest.mark.django_db
@pytest.mark.parametrize(
    "part, step", [("secret", None), ("output", None), ("output", "120"), ("output", "x"), ("params", "-1")]
)
def test_it_answers_404_for_a_json_part_or_step_that_does_not_exist(client, vic, tenant_a, part, step):
    trace = bulk_trace(tenant_a, trace_id="lazy", steps=120)
    client.force_login(vic)
    params = {} if step is None else {"step": step}
    response = client.get(reverse("admin:traces_trace_json", args=[trace.pk, part]), params)
    assert response.status_code == 404


@pytest.mark.django_db
def test_it_answers_404_for_another_tenants_trace_its_page_and_its_json(client, carol, vic, tenant_a):
    trace = bulk_trace(tenant_a, trace_id="theirs", steps=5)
    client.force_login(carol)  # operator of tenant B
    assert client.get(reverse("admin:traces_trace_change", args=[trace.pk])).status_code == 404
    assert client.get(reverse("admin:traces_trace_change", args=[trace.pk]), {"step": "3"}).status_code == 404
    parts = [("plan", {}), ("input", {}), ("metadata", {}), ("params", {"step": 1}), ("output", {"step": 1})]
    for part, params in parts:
        assert client.get(reverse("admin:traces_trace_json", args=[trace.pk, part]), params).status_code == 404
    for missing in ("999999", "abc"):
        assert client.get(f"/admin/traces/trace/{missing}/json/plan/").status_code == 404
        assert client.get(f"/admin/traces/trace/{missing}/change/").status_code == 404
    client.force_login(vic)  # a viewer of tenant A sees it
    assert client.get(reverse("admin:traces_trace_json", args=[trace.pk, "plan"])).status_code == 200


@pytest.mark.django_db
def test_it_cuts_a_long_step_value_and_links_the_whole_of_it(client, vic, tenant_a):
    trace = bulk_trace(tenant_a, trace_id="long-output", steps=3)
    long_text = "x" * (STEP_JSON_SHOWN + 500)
    trace.steps.filter(index=1).update(output={"text": long_text})
    client.force_login(vic)
    block = page_of(client, trace).split('id="step-1"')[1].split("</details>")[0]
    whole = f"{reverse('admin:traces_trace_json', args=[trace.pk, 'output'])}?step=1"
    assert f'Cut here: <a href="{whole}"' in block and long_text not in block
    assert client.get(whole).json() == {"text": long_text}


@pytest.mark.django_db
def test_it_escapes_what_the_trace_recorded(client, vic, tenant_a):
    trace = bulk_trace(tenant_a, trace_id="hostile", steps=2)
    hostile = '<script>alert("x")</script>'
    trace.steps.filter(index=0).update(
        skill_id=hostile[:100],
        skill_version='"><b>',
        output={"usage": {"prompt_tokens": 1, "completion_tokens": 2}, "text": hostile},
        error_code="<i>e</i>",
        error_message=hostile,
        idempotency_key=hostile,
        input_hash='"onmouseover="x',
    )
    client.force_login(vic)
    page = page_of(client, trace)
    assert hostile not in page and "<b>" not in page and "<i>e</i>" not in page
    assert 'data-copy=""onmouseover' not in page and "&lt;script&gt;" in page
