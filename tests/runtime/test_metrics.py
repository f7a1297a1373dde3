"""Runtime metrics move with what happens (PRODUCT.md §10)."""

from prometheus_client import REGISTRY

from tests.runtime.helpers import SIMULATE, replay, run, transform


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_it_counts_runs_replays_traces_simulations_and_idempotency(api_a_dev):
    before = {
        "runs": value("aos_runs_total", status="succeeded"),
        "replays": value("aos_replays_total", parity="true"),
        "stored": value("aos_traces_stored_total", source="replay"),
        "sims": value("aos_simulate_duration_seconds_count"),
        "replayed": value("aos_idempotency_total", result="replayed"),
    }
    plan = [transform(1, query="@")]
    key = {"HTTP_IDEMPOTENCY_KEY": "metrics-1"}
    body = {"plan": plan, "wait": True}
    first = api_a_dev.post("/api/v1/runtime/runs", body, format="json", **key)
    api_a_dev.post("/api/v1/runtime/runs", body, format="json", **key)
    replay(api_a_dev, first.json()["run_id"])
    api_a_dev.post(SIMULATE, {"plan": plan}, format="json")
    run(api_a_dev, plan)
    assert value("aos_runs_total", status="succeeded") == before["runs"] + 2
    assert value("aos_replays_total", parity="true") == before["replays"] + 1
    assert value("aos_traces_stored_total", source="replay") == before["stored"] + 1
    assert value("aos_simulate_duration_seconds_count") == before["sims"] + 1
    assert value("aos_idempotency_total", result="replayed") == before["replayed"] + 1
