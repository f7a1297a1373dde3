"""A real Prometheus scrapes the web and a real Celery worker executing async runs (issue 16, finding 1).

The committed deploy/prometheus/scrape.yml is run with only targets, intervals and the token's
path swapped. The worker runs the prefork pool (two children) with AOS_WORKER_METRICS_PORT, on
Redis, against this test's database; async runs go through the broker to it. What Prometheus
then holds for `aos_runs_total` and `aos_run_cost_usd_total` must equal what the database says.

Needs Redis (REDIS_URL: broker and cache shared with the worker) and Debian's `prometheus`;
skipped without them on a developer's machine, never in CI (.ci/run installs and checks both).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings as django_settings
from django.db.models import Count, Sum

from accounts.models import Role
from tests.conftest import client_with_key
from tests.procs import PROMETHEUS_BIN, ROOT, child_env, free_port, ready, running, wait_for
from tests.runtime.helpers import llm, pure_plan, run
from traces.models import Trace, TraceSource, TraceStatus

SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "scrape.yml"
TOKEN = "live-scrape-token"

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs Redis (REDIS_URL): broker shared with the worker"),
    pytest.mark.skipif(PROMETHEUS_BIN is None, reason="needs Debian's prometheus (CI installs it)"),
]


def prometheus_config(*, web: str, worker: str, token_file: Path) -> str:
    """The committed scrape configuration, pointed at this test's processes, scraping every second."""
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["global"]["external_labels"] = {"environment": "test"}
    config["rule_files"] = [str(ROOT / "deploy" / "prometheus" / "aos_rules.yml")]
    config.pop("alerting")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"aos-web", "aos-worker", "aos-pushgateway"}
    jobs["aos-web"]["static_configs"] = [{"targets": [web]}]
    jobs["aos-web"]["authorization"]["credentials_file"] = str(token_file)
    jobs["aos-worker"]["static_configs"] = [{"targets": [worker]}]
    config["scrape_configs"] = [jobs["aos-web"], jobs["aos-worker"]]
    return yaml.safe_dump(config)


def query(prometheus: str, promql: str) -> dict[tuple, float]:
    body = requests.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert body["status"] == "success", body
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in body["data"]["result"]}


@pytest.fixture
def stack(live_server, settings, tmp_path, transactional_db):
    """(web URL, worker process, Prometheus URL, queue); async runs of this test go to `queue`."""
    from aosproject.celery import app

    settings.METRICS_BEARER_TOKEN = TOKEN
    queue = f"live-metrics-{uuid.uuid4().hex[:8]}"  # nobody else consumes it
    worker_port, prometheus_port = free_port(), free_port()
    env = child_env(CELERY_TASK_ALWAYS_EAGER="0", AOS_WORKER_METRICS_PORT=str(worker_port), LOG_FORMAT="json")
    # The README's `make worker` itself, with the pool and queue of this test.
    worker_args = [
        "make",
        "worker",
        f"WORKER_ARGS=--pool=prefork --concurrency=2 -Q {queue} --without-mingle --without-gossip",
    ]
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    web = live_server.url.removeprefix("http://")
    (tmp_path / "prometheus.yml").write_text(
        prometheus_config(web=web, worker=f"127.0.0.1:{worker_port}", token_file=token_file)
    )
    prometheus_args = [PROMETHEUS_BIN, f"--config.file={tmp_path / 'prometheus.yml'}"]
    prometheus_args += [f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prometheus_port}"]
    prometheus_args += ["--log.level=warn"]
    app.conf.task_always_eager = False
    # update() (not assignment) makes Celery rebuild its cached router.
    app.conf.update(task_routes={"runtime.run_execute": {"queue": queue}})
    try:
        with (
            running(worker_args, log_path=tmp_path / "worker.log", env=env, url=f"http://127.0.0.1:{worker_port}") as w,
            running(
                prometheus_args, log_path=tmp_path / "prometheus.log", url=f"http://127.0.0.1:{prometheus_port}"
            ) as p,
        ):
            wait_for(lambda: ready(f"{w.url}/metrics"), timeout=30, what="worker /metrics", log=w.log_path)
            wait_for(lambda: ready(f"{p.url}/-/ready"), timeout=30, what="Prometheus", log=p.log_path)
            yield live_server.url, w, p, queue
    finally:
        app.conf.update(task_routes=None)


def test_it_counts_async_runs_executed_by_a_worker_in_prometheus_as_in_the_database(stack, tenant_a):
    web, worker, prometheus, _queue = stack
    tenant_a.tier = "enterprise"
    tenant_a.save(update_fields=["tier"])
    api = client_with_key(tenant_a, Role.DEVELOPER)
    web_baseline = query_free_web_runs()  # the web process (this one) counted earlier tests' runs

    paid = llm("a", model="gpt-4o", max_tokens=990)
    queued = [run(api, pure_plan(), wait=False, input={"price": n, "symbol": "X"}).json() for n in range(3)]
    queued.append(run(api, [paid, paid, paid], wait=False, budget_cents=1).json())  # fails on its budget
    assert {r["status"] for r in queued} == {"queued"}
    # `wait: true` only waits (AOS_RUN_WAIT_SECONDS): with a broker the worker executes it too.
    synchronous = run(api, pure_plan(), wait=True, input={"price": 9, "symbol": "Y"}).json()
    assert synchronous["status"] == "succeeded"

    runs = Trace.objects.filter(source=TraceSource.RUN, tenant=tenant_a)
    wait_for(
        lambda: not runs.filter(status__in=[TraceStatus.QUEUED, TraceStatus.RUNNING]).exists(),
        timeout=60,
        what="the worker to finish the async runs",
        log=worker.log_path,
    )
    in_db = dict(runs.values_list("status").annotate(n=Count("pk")))
    async_in_db = in_db
    assert async_in_db == {"succeeded": 4, "failed": 1}
    async_cost = runs.aggregate(c=Sum("total_cost_cents"))["c"] / 100
    assert async_cost > 0

    def worker_counts() -> dict[str, float]:
        found = query(prometheus.url, 'sum by (status) (aos_runs_total{job="aos-worker"})')
        return {dict(k)["status"]: v for k, v in found.items()}

    try:
        wait_for(lambda: worker_counts() == async_in_db, timeout=30, what="Prometheus to scrape the worker's counts")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {worker_counts()} in Prometheus, {async_in_db} in the database") from None

    def everywhere_counts() -> dict[str, float]:
        return {dict(k)["status"]: v for k, v in query(prometheus.url, "sum by (status) (aos_runs_total)").items()}

    # The web's own series (earlier tests' runs in this process) must have been scraped too.
    wait_for(
        lambda: {s: v - web_baseline.get(s, 0) for s, v in everywhere_counts().items()} == in_db,
        timeout=30,
        what=f"Prometheus to scrape the web's counts (baseline {web_baseline})",
    )
    everywhere = everywhere_counts()
    web_now = {s: everywhere[s] - worker_counts().get(s, 0) for s in everywhere}
    assert {s: web_now[s] - web_baseline.get(s, 0) for s in web_now} == {"succeeded": 0, "failed": 0}
    assert {s: everywhere[s] - web_baseline.get(s, 0) for s in everywhere} == in_db

    cost = query(prometheus.url, 'aos_run_cost_usd_total{job="aos-worker", tier="enterprise"}')
    assert list(cost.values()) == [pytest.approx(async_cost)]
    assert query(prometheus.url, 'sum by (job) (up{job=~"aos-web|aos-worker"})') == {
        (("job", "aos-web"),): 1.0,
        (("job", "aos-worker"),): 1.0,
    }
    in_progress = query(prometheus.url, 'aos_runs_in_progress{job="aos-web"}')
    wait_for(
        lambda: set(query(prometheus.url, 'aos_runs_in_progress{job="aos-web"}').values()) == {0.0},
        timeout=10,
        what=f"runs in progress to read 0 (was {in_progress})",
    )
    # One exposition for the two pool children: no pid label, one series per status.
    series = query(prometheus.url, 'aos_runs_total{job="aos-worker"}')
    assert all("pid" not in dict(labels) for labels in series), series
    assert len(series) == 2
    # The worker's log lines are JSON and name the run, its tenant and the task (finding 8).
    import json

    lines = [json.loads(line) for line in worker.log_path.read_text().splitlines() if line.startswith("{")]
    for executed in [*queued, synchronous]:
        mine = [line for line in lines if line.get("run_id") == executed["run_id"]]
        assert mine, executed["run_id"]
        assert {line["tenant"] for line in mine} == {tenant_a.slug}
        assert {line["task_name"] for line in mine} == {"runtime.run_execute"}
        [done] = [line for line in mine if line["logger"] == "aosproject.tasks"]
        assert done["state"] == "SUCCESS" and done["duration_ms"] > 0 and done["task_id"]
    # Printed for the closing note: Prometheus next to the database.
    print(f"\nPrometheus sum by (status) (aos_runs_total{{job='aos-worker'}}) = {worker_counts()}")
    print(f"database async runs by status                            = {async_in_db}")
    print(f"Prometheus aos_run_cost_usd_total{{job='aos-worker',tier='enterprise'}} = {list(cost.values())}")
    print(f"database async run cost (USD)                            = {async_cost}")
    print(
        f"Prometheus sum by (status) (aos_runs_total) - web baseline = "
        f"{ {s: everywhere[s] - web_baseline.get(s, 0) for s in everywhere} }; database all runs = {in_db}"
    )


def query_free_web_runs() -> dict[str, float]:
    """This process's own aos_runs_total before the test (no Prometheus involved)."""
    from prometheus_client import REGISTRY

    return {
        status: REGISTRY.get_sample_value("aos_runs_total", {"status": status}) or 0.0
        for status in ("succeeded", "failed")
    }
