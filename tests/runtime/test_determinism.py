"""Determinism: same plan + seed → identical simulate bytes and run hashes; hashed fields matter,
audit fields do not (PRODUCT.md §3, §4)."""

import pytest

from aos_sdk import hashing
from tests.runtime.helpers import SIMULATE, TS, pure_plan, run, transform
from traces.models import Trace, TraceSource


def test_it_runs_the_spec_vector_to_the_spec_root_hash(api_a_dev):
    plan = [transform({"x": 1}, mapping={"y": "x"})]
    response = run(api_a_dev, plan, seed=42)
    assert response.status_code == 201
    body = response.json()
    assert body["plan_hash"] == "7da851c1e3bcfd2caf64f55bc462c92a423b22e539bfce1a43e7f59f5b5974f6"
    step = body["steps"][0]
    assert step["input_hash"] == "ca7e111c669f70edd25df8fcd9e5db1f3b9e430bd22535c27239b539ffd526e0"
    assert step["output_hash"] == "c7bd835adf20c1cc2a521683644cbc40c8c97e7b1925ed6309e0892c01fea42f"
    assert step["step_hash"] == "0c154e2f9b01803282a182e0364a8f2e7ba09847dadcd27f0eb94e98d1537788"
    assert body["root_hash"] == "a7d865ab34ef189aa8d1bccf324d38492f59424c7f1d924ea3bffbeb64e09b5c"


def test_it_simulates_byte_identically_for_the_same_input_and_seed(api_a_dev):
    plan = [*pure_plan(), {"skill": "http_call", "params": {"url": "https://example.com/x"}}]
    body = {"plan": plan, "seed": 3, "budget_cents": 50}
    first = api_a_dev.post(SIMULATE, body, format="json")
    second = api_a_dev.post(SIMULATE, body, format="json")
    assert first.status_code == 200
    assert first.content == second.content
    saved = {**body, "save_trace": True, "timestamp": TS}
    a = api_a_dev.post(SIMULATE, saved, format="json")
    b = api_a_dev.post(SIMULATE, saved, format="json")
    assert a.content == b.content
    assert a.json()["root_hash"] and a.json()["trace_id"]
    assert Trace.objects.filter(source=TraceSource.SIMULATE).count() == 1


def test_it_runs_identically_twice(api_a_dev):
    body = {"input": {"price": 101.5, "symbol": "BTC"}}
    first = run(api_a_dev, pure_plan(), **body).json()
    second = run(api_a_dev, pure_plan(), **body).json()
    assert first["status"] == "succeeded", first
    assert first["run_id"] != second["run_id"]
    assert first["root_hash"] == second["root_hash"]
    assert [s["step_hash"] for s in first["steps"]] == [s["step_hash"] for s in second["steps"]]
    # The chain is the §3 chain over the stored step hashes.
    assert first["root_hash"] == hashing.root_hash(
        plan_hash=first["plan_hash"], seed=7, timestamp=TS, step_hashes=[s["step_hash"] for s in first["steps"]]
    )
    # Step 2 saw step 1's typed output through the reference.
    assert first["steps"][2]["output"]["price"] == 101.5


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 8},
        {"timestamp": "2025-01-01T00:00:01Z"},
        {"input": {"price": 101.6, "symbol": "BTC"}},
        {"plan_param": "ETH"},
    ],
    ids=["seed", "timestamp", "input", "plan"],
)
def test_it_changes_the_root_hash_when_a_hashed_field_changes(api_a_dev, change):
    base = {"input": {"price": 101.5, "symbol": "BTC"}}
    original = run(api_a_dev, pure_plan(), **base).json()
    plan = pure_plan()
    extra = dict(base)
    if "plan_param" in change:
        plan[1]["params"]["messages"][0]["content"] += " in " + change["plan_param"]
    else:
        extra.update(change)
    changed = run(api_a_dev, plan, **extra).json()
    assert changed["root_hash"] != original["root_hash"]


def test_it_keeps_the_root_hash_when_only_audit_fields_change(api_a_dev):
    base = {"input": {"price": 1, "symbol": "X"}}
    original = run(api_a_dev, pure_plan(), **base).json()
    audited = run(
        api_a_dev, pure_plan(), agent_id="agent-7", metadata={"team": "blue"}, budget_cents=999, **base
    ).json()
    assert audited["root_hash"] == original["root_hash"]
    assert audited["total_duration_ms"] >= 0


def test_it_gives_a_seeded_local_llm_a_deterministic_reply(api_a_dev):
    plan = [{"skill": "llm_invoke", "params": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 64}}]
    a = run(api_a_dev, plan, seed=1).json()["steps"][0]["output"]
    b = run(api_a_dev, plan, seed=1).json()["steps"][0]["output"]
    c = run(api_a_dev, plan, seed=2).json()["steps"][0]["output"]
    assert a == b
    assert a["content"] != c["content"]
    assert a["usage"]["prompt_tokens"] == 5  # 4 framing + "hi"
    assert a["usage"]["total_tokens"] == a["usage"]["prompt_tokens"] + a["usage"]["completion_tokens"]
