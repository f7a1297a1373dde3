"""Locust version of simulate_k6.js: the same simulate traffic, runnable here headless.

    AOS_API_KEY=aos_... .venv/bin/locust -f load-tests/locustfile.py --headless -u 5 -r 5 -t 10s \
        --host http://127.0.0.1:8000 --csv /tmp/loc --only-summary
    .venv/bin/python manage.py slo_report /tmp/loc_stats.csv

Each simulate answer is checked for parity (same plan and seed → byte-identical body, PRODUCT.md §4)
and reported as a request named "parity" (type CHECK), so the check lands in the CSV stats next to
the HTTP requests. Env: AOS_API_KEY (required), AOS_EXPECTED_SHA256 (optional known body hash),
AOS_WAIT_MIN / AOS_WAIT_MAX (seconds between requests per user, default 0.05 / 0.2),
AOS_LOAD_PROFILE: `simulate` (default: simulate only), `mixed` (`make load`: 9 simulate to 1 async run,
`POST /api/v1/runtime/runs` named "runs") or `health` (`GET /health` only, the baseline `make load`
compares simulate's throughput with).
"""

from __future__ import annotations

import hashlib
import json
import os

import gevent
from locust import HttpUser, between, events, stats

API_KEY = os.environ.get("AOS_API_KEY", "")
EXPECTED_SHA256 = os.environ.get("AOS_EXPECTED_SHA256", "")
PROFILE = os.environ.get("AOS_LOAD_PROFILE", "simulate")
PROFILES = ("simulate", "mixed", "health")

# The same pure, deterministic plan as simulate_k6.js.
PLAN_BODY = {
    "seed": 42,
    "budget_cents": 100,
    "plan": [
        {
            "skill": "json_transform",
            "params": {"payload": {"price": {"usd": 97000}}, "mapping": {"usd": "price.usd"}},
        },
        {
            "skill": "llm_invoke",
            "params": {"messages": [{"role": "user", "content": "BTC at {{ steps[0].output.usd }}"}]},
        },
    ],
}
BODY = json.dumps(PLAN_BODY)
# An async run of the same pure plan: 202 queued, executed by a Celery worker.
RUN_BODY = json.dumps({**PLAN_BODY, "wait": False})


# locust rewrites the --csv files every CSV_STATS_INTERVAL_SEC and does not write them again at exit, so
# the last interval's requests would be missing from the CSV. A short interval, plus a pause at quit
# (after the users stopped) that lets the writer run once more, makes the CSV match the final stats.
stats.CSV_STATS_INTERVAL_SEC = 0.1


@events.quit.add_listener
def _let_the_csv_writer_catch_up(**kwargs):
    gevent.sleep(3 * stats.CSV_STATS_INTERVAL_SEC)


class ParityError(Exception):
    """A simulate answer differed from the first one this user saw (or from AOS_EXPECTED_SHA256)."""


@events.test_start.add_listener
def _require_api_key(environment, **kwargs):
    if PROFILE not in PROFILES:
        raise SystemExit(f"AOS_LOAD_PROFILE must be one of {', '.join(PROFILES)}, not {PROFILE!r}")
    if not API_KEY and PROFILE != "health":
        raise SystemExit("AOS_API_KEY is not set (manage.py create_api_key --tenant T --role developer)")


def _seconds(name: str, default: str) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds") from None


class SimulateUser(HttpUser):
    wait_time = between(_seconds("AOS_WAIT_MIN", "0.05"), _seconds("AOS_WAIT_MAX", "0.2"))

    def on_start(self) -> None:
        self.reference_sha256 = EXPECTED_SHA256

    def simulate(self) -> None:
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
        with self.client.post(
            "/api/v1/runtime/simulate", data=BODY, headers=headers, name="simulate", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            response.success()
            body_sha256 = hashlib.sha256(response.content).hexdigest()
        if not self.reference_sha256:
            self.reference_sha256 = body_sha256
        error = None
        if body_sha256 != self.reference_sha256:
            error = ParityError(f"body sha256 {body_sha256[:12]}… != reference {self.reference_sha256[:12]}…")
        # A check, not an HTTP request: zero time, reported so it shows in the CSV as "parity".
        self.environment.events.request.fire(
            request_type="CHECK",
            name="parity",
            response_time=0,
            response_length=0,
            exception=error,
            context={},
        )

    def run_async(self) -> None:
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
        with self.client.post(
            "/api/v1/runtime/runs", data=RUN_BODY, headers=headers, name="runs", catch_response=True
        ) as response:
            if response.status_code != 202:
                response.failure(f"status {response.status_code}")

    def health(self) -> None:
        self.client.get("/health", name="health")

    tasks = {
        "simulate": {simulate: 1},
        "mixed": {simulate: 9, run_async: 1},
        "health": {health: 1},
    }.get(PROFILE, {simulate: 1})
