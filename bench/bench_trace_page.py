"""The admin trace page (printed, not asserted): server time and queries for 100 to 10,000 steps.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aos_bench_tp .venv/bin/python bench/bench_trace_page.py
    env -u DATABASE_URL .venv/bin/python bench/bench_trace_page.py --sqlite   # temporary SQLite file
    BENCH_BEFORE=d27a1b7 .venv/bin/python bench/bench_trace_page.py         # + the page at that revision
    .venv/bin/python bench/bench_trace_page.py --profile 10000               # cProfile of one page
    BENCH_BEFORE=79327ee .venv/bin/python bench/bench_trace_page.py --pages compare   # the compare view only

Traces are written once (bulk_create, `tests/traces/tracebuild.bulk_trace`): for each size a
run and a replay of it that diverged 50 steps before the end, with the mismatch the runtime
records. Besides the trace page, the compare view of the run with its replay (by default on the
page of the divergence, and with `only=differing`), `--compare-repeat` requests each (fewer: the
view before decision 0070 read both traces whole, seconds a request for 10,000 steps). `--pages
trace` or `--pages compare` measures one of the two only. Each code tree is then measured in a
worker process of its own (Django's test client, every middleware, a superuser): today's code,
and with `--before REV` (BENCH_BEFORE) the project at that git revision (`git archive`), on the
same database and traces, so "before" and "after" come from one run under the same load.

Server time is the time of `client.get` (request to rendered response, database included):
median and p95 of `--repeat` requests after one warm-up request. "cold cache" clears the cache
before each request: what the page derives from a finished trace is cached, this is its first
view. Queries are those of one request; KiB is the response body. The load average is printed
before and after (the machine is shared: read the figures with it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERNAME = "bench-root"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite database instead of DATABASE_URL")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--sizes", default="100,1000,10000", help="step counts, comma-separated")
    parser.add_argument("--compare-repeat", type=int, default=5, help="timed requests per compare view")
    parser.add_argument("--pages", choices=["all", "trace", "compare"], default="all", help="which views to measure")
    parser.add_argument("--before", default=os.environ.get("BENCH_BEFORE", ""), help="git revision to compare with")
    parser.add_argument("--profile", type=int, default=0, metavar="STEPS", help="cProfile the page of STEPS steps")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)  # a code tree to measure (internal)
    parser.add_argument("--cases", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def django_setup(tree: Path) -> None:
    sys.path[:0] = [str(tree), str(tree / "sdk" / "python")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")
    os.environ["RATELIMIT_ENABLE"] = "0"
    os.environ.pop("REDIS_URL", None)
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the worker: one code tree, the pages it is given ---------------------------------------------
def worker(tree: Path, cases: list[dict], repeat: int) -> None:
    django_setup(tree)
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=USERNAME))
    for case in cases:
        first = client.get(case["url"])  # warm: templates compiled, connection open
        if first.status_code != 200:
            print(json.dumps({**case, "status": first.status_code}), flush=True)
            continue
        times = []
        for _ in range(case.get("repeat") or repeat):
            if case.get("cold"):
                cache.clear()  # nothing derived from the trace kept: its first view
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(case["url"])
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, (case["url"], response.status_code)
        result = {
            **case,
            "status": 200,
            "median_ms": statistics.median(times) * 1000,
            "p95_ms": percentile(times, 0.95) * 1000,
            "queries": len(ctx.captured_queries),
            "kib": len(response.content) / 1024,
        }
        print(json.dumps(result), flush=True)


def run_worker(tree: Path, cases: list[dict], repeat: int) -> list[dict]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), "--repeat", str(repeat)]
    done = subprocess.run(
        [*command, "--cases", json.dumps(cases)], cwd=tree, env=os.environ.copy(), capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"worker for {tree} failed:\n{done.stderr[-4000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


# --- the main process: database, traces, trees, table ----------------------------------------------
def export_revision(rev: str, tmp: Path) -> Path:
    """The project's files at `rev` (no .git changes: `git archive`, not a worktree)."""
    target = tmp / "before"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def build_traces(sizes: list[int]) -> dict[int, tuple[int, int]]:
    """{steps: (run pk, diverged replay pk)} in a bench tenant recreated each run."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts.models import Tenant
    from tests.traces.tracebuild import bulk_trace

    call_command("migrate", verbosity=0)
    Tenant.objects.filter(slug="bench-page").delete()
    tenant = Tenant.objects.create(slug="bench-page", name="Bench page", tier="unlimited")
    users = get_user_model().objects
    if not users.filter(username=USERNAME).exists():
        users.create_superuser(USERNAME, "root@example.com", "pw")
    built = {}
    for size in sizes:
        run = bulk_trace(tenant, trace_id=f"bench-{size}", steps=size)
        replay = bulk_trace(
            tenant,
            trace_id=f"bench-{size}-replay",
            steps=size,
            source="replay",
            replay_of=run,
            metadata={"replay": {"mode": "recorded", "parity": False}},
            diverge_at=max(size - 50, 0),
        )
        run.mismatches.create(  # what the runtime records on the original when a replay diverges
            tenant=tenant,
            reported_by="replay",
            step_index=max(size - 50, 0),
            skill_id="llm_invoke",
            reason="output_mismatch",
            fingerprint="f" * 64,
            details={"replay_run_id": replay.run_id},
        )
        built[size] = (run.pk, replay.pk)
    return built


def cases_for(size: int, run_pk: int, replay_pk: int, *, pages: str = "all", compare_repeat: int = 5) -> list[dict]:
    page = f"/admin/traces/trace/{run_pk}/change/"
    last = max(size - 50, 0)
    compare = f"/admin/traces/trace/{run_pk}/compare/?with_pk={replay_pk}"
    compare_cases = [
        {"steps": size, "page": "compare with the replay", "url": compare, "repeat": compare_repeat},
        {
            "steps": size,
            "page": "compare, only differing",
            "url": f"{compare}&only=differing",
            "repeat": compare_repeat,
        },
    ]
    if pages == "compare":
        return compare_cases
    trace_cases = [
        {"steps": size, "page": "first page, cold cache", "url": page, "cold": True},
        {"steps": size, "page": "first page", "url": page},
        {"steps": size, "page": f"?step={last}", "url": f"{page}?step={last}"},
        {"steps": size, "page": f"diverged replay (step {last})", "url": f"/admin/traces/trace/{replay_pk}/change/"},
        {"steps": size, "page": "plan JSON, on demand", "url": f"/admin/traces/trace/{run_pk}/json/plan/"},
    ]
    return trace_cases if pages == "trace" else trace_cases + compare_cases


def profile(size: int, run_pk: int) -> None:
    import cProfile
    import pstats

    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=USERNAME))
    url = f"/admin/traces/trace/{run_pk}/change/"
    client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        client.get(url)
    profiler.disable()
    print(f"cProfile of 5 requests of the {size:,}-step page")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(Path(args.worker), json.loads(args.cases), args.repeat)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-trace-page-"))
    if args.sqlite:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    else:
        sys.path.insert(0, str(ROOT))
        from bench.common import ensure_database

        os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aos_bench_tp")
        ensure_database(os.environ["DATABASE_URL"])
    django_setup(ROOT)
    from django.db import connection

    sizes = [int(s) for s in (str(args.profile) if args.profile else args.sizes).split(",")]
    load_before = os.getloadavg()
    built = build_traces(sizes)
    if args.profile:
        profile(args.profile, built[args.profile][0])
        return
    connection.close()  # the workers do the measuring
    trees = [("after", ROOT)]
    if args.before:
        trees.insert(0, (f"before ({args.before})", export_revision(args.before, tmp)))
    print(
        f"admin trace page on {connection.vendor}, {args.repeat} requests a page after one warm-up"
        f" ({args.compare_repeat} a compare view)"
    )
    print(f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}")
    header = f"{'steps':>7} | {'page':<30} | {'code':<18} | {'median ms':>9} | {'p95 ms':>7} | {'queries':>7} | KiB"
    print(header)
    print("-" * len(header))
    for size in sizes:
        cases = cases_for(size, *built[size], pages=args.pages, compare_repeat=args.compare_repeat)
        results = {label: run_worker(tree, cases, args.repeat) for label, tree in trees}
        for i, case in enumerate(cases):
            for label, _ in trees:
                r = results[label][i]
                if r["status"] != 200:
                    figures = f"{'—':>9} | {'—':>7} | {'—':>7} | {'—':>6}  (HTTP {r['status']})"
                else:
                    figures = f"{r['median_ms']:>9.1f} | {r['p95_ms']:>7.1f} | {r['queries']:>7} | {r['kib']:>6.1f}"
                print(f"{size:>7,} | {case['page']:<30} | {label:<18} | {figures}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
