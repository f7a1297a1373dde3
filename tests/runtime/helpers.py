"""Small builders shared by the runtime tests."""

from __future__ import annotations

from typing import Any

RUNS = "/api/v1/runtime/runs"
SIMULATE = "/api/v1/runtime/simulate"
TS = "2025-01-01T00:00:00Z"


def transform(payload: Any, **params: Any) -> dict[str, Any]:
    return {"skill": "json_transform", "params": {"payload": payload, **params}}


def llm(content: str, **params: Any) -> dict[str, Any]:
    return {"skill": "llm_invoke", "params": {"messages": [{"role": "user", "content": content}], **params}}


def pure_plan() -> list[dict[str, Any]]:
    """Three pure steps, the later ones referencing the run input and earlier outputs."""
    return [
        transform("{{ input }}", mapping={"price": "price", "symbol": "symbol"}, defaults={"currency": "USD"}),
        llm("Summarise {{ steps[0].output.symbol }} at {{ steps[0].output.price }}"),
        transform({"summary": "{{ steps[1].output.content }}", "price": "{{ steps[0].output.price }}"}, query="@"),
    ]


def run(client, plan, *, wait=True, **extra):
    body = {"plan": plan, "seed": 7, "timestamp": TS, "wait": wait, **extra}
    return client.post(RUNS, body, format="json")


def replay(client, run_id, **body):
    return client.post(f"/api/v1/runtime/replay/{run_id}", body, format="json")
