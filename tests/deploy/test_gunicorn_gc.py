"""deploy/gunicorn.conf.py freezes what a worker loaded (issue 15: p99): a real gunicorn, its real workers."""

from __future__ import annotations

import pytest
import requests

from tests.procs import GUNICORN_BIN, child_env, free_port, running, wait_for


def _probe(tmp_path, **env: str) -> dict:
    port = free_port()
    args = [GUNICORN_BIN, "-c", "deploy/gunicorn.conf.py", "tests.deploy.gc_app", "--bind", f"127.0.0.1:{port}"]
    with running([*args, "--workers", "1"], log_path=tmp_path / "gunicorn.log", env=child_env(**env)) as web:
        answer = wait_for(
            lambda: requests.get(f"http://127.0.0.1:{port}/_gc", timeout=2), timeout=30, what="/_gc", log=web.log_path
        )
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200  # the app itself serves
        return answer.json()


@pytest.mark.django_db
def test_it_freezes_the_loaded_app_in_every_worker_before_it_serves(tmp_path):
    state = _probe(tmp_path)
    # The URLconf (and the view modules it imports) was loaded by the hook, before the first request.
    assert state["urlconf"] is True
    # Most of what the worker holds is frozen: a full collection walks only what requests allocate.
    assert state["frozen"] > 50_000 and state["frozen"] > 2 * state["tracked"], state


@pytest.mark.django_db
def test_it_leaves_the_collector_alone_with_gunicorn_gc_freeze_off(tmp_path):
    state = _probe(tmp_path, GUNICORN_GC_FREEZE="0")
    assert state["frozen"] == 0, state
