"""Run deadlines (PRODUCT.md §14; issue 21 finding 2): no step, retry or backoff goes past them."""

from __future__ import annotations

import itertools
import socket
import time

import pytest

from runtime import engine
from tests.runtime.helpers import TS, replay, run, transform


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once it is closed: connection refused


def test_it_never_sleeps_a_retry_backoff_past_the_run_deadline(api_a_dev, settings, closed_port):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.AOS_RUN_DEADLINE_SECONDS = 0.5
    step = {
        "skill": "http_call",
        "params": {"url": f"http://127.0.0.1:{closed_port}/", "retries": 0, "timeout": 1},
        "retry": {"max_attempts": 10, "backoff_ms": 60000},  # finding 2: ~8.5 h of sleeping allowed
    }
    started = time.monotonic()
    body = run(api_a_dev, [step, transform(1, query="@")]).json()
    elapsed = time.monotonic() - started

    assert elapsed < 5, elapsed  # a bound on a hang, not a benchmark: the old code slept 60 s here
    assert body["status"] == "failed"
    assert body["error_code"] == "ERR_DEADLINE_EXCEEDED"
    assert body["steps"][0]["error_code"] == "ERR_DEADLINE_EXCEEDED"
    assert "would pass the run's deadline" in body["steps"][0]["error_message"]
    assert len(body["steps"]) == 1

    again = replay(api_a_dev, body["run_id"])  # a run that hit its deadline is replayable
    assert again.status_code == 200, again.json()


def test_it_ends_the_run_at_the_first_step_after_the_deadline_even_with_on_error_continue():
    clock = itertools.chain([0.0], itertools.repeat(100.0)).__next__  # read once before each step
    plan = [
        {**transform(1, query="@"), "on_error": "continue", "params": {"payload": 1, "query": "@"}},
        {"skill": "json_transform", "params": {"payload": 2, "query": "@"}, "on_error": "continue"},
        {"skill": "json_transform", "params": {"payload": 3, "query": "@"}},
    ]
    execution = engine.execute(
        plan, run_input=None, seed=0, timestamp=TS, budget_cents=None, deadline=50.0, clock=clock
    )
    assert [s.status for s in execution.steps] == ["succeeded", "failed"]
    assert execution.steps[1].error_code == "ERR_DEADLINE_EXCEEDED"
    assert execution.status == "failed"
    assert execution.error_code == "ERR_DEADLINE_EXCEEDED"


def test_it_hands_the_deadline_to_the_skill(monkeypatch):
    seen = []
    from runtime.skills import REGISTRY

    original = REGISTRY["json_transform"].execute

    def spy(params, ctx):
        seen.append(ctx.deadline)
        return original(params, ctx)

    monkeypatch.setattr(REGISTRY["json_transform"], "execute", spy)
    deadline = time.monotonic() + 60
    engine.execute(
        [transform(1, query="@")], run_input=None, seed=0, timestamp=TS, budget_cents=None, deadline=deadline
    )
    assert seen == [deadline]


def test_it_names_the_deadline_when_a_call_is_interrupted_after_it(monkeypatch):
    from runtime.skills import REGISTRY

    class SoftTimeLimitExceeded(Exception):  # what Celery raises inside the call at the soft limit
        pass

    def interrupted(params, ctx):
        raise SoftTimeLimitExceeded("soft time limit exceeded")

    monkeypatch.setattr(REGISTRY["json_transform"], "execute", interrupted)
    clock = itertools.chain([0.0], itertools.repeat(100.0)).__next__  # the deadline passes during the call
    execution = engine.execute(
        [transform(1, query="@")], run_input=None, seed=0, timestamp=TS, budget_cents=None, deadline=50.0, clock=clock
    )
    assert execution.error_code == "ERR_DEADLINE_EXCEEDED"
    before = engine.execute(
        [transform(1, query="@")], run_input=None, seed=0, timestamp=TS, budget_cents=None, deadline=None
    )
    assert before.error_code == "ERR_INTERNAL"  # without a deadline it is a skill bug
