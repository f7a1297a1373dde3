"""HTTP benchmark of the hot path against a bare Django + DRF baseline (issue 15). Printed, not asserted.

    make bench-http                                   # embedded default (temporary SQLite, local-memory cache)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aos_bench_http REDIS_URL=redis://127.0.0.1:6379/5 make bench-http
    BENCH_SECONDS=30 BENCH_ROUNDS=3 make bench-http   # longer; on a quiet machine

Both apps run under the production server configuration, `gunicorn -c deploy/gunicorn.conf.py`
(gthread; GUNICORN_WORKERS / GUNICORN_THREADS as set, else that file's defaults), each on a free
loopback port: the project (`aosproject.wsgi`, DEBUG off, rate limiting on, the tenant on the
`unlimited` tier) and `bench/hello` (one DRF APIView, stock settings). With REDIS_URL a Celery
worker executes the runs, as in production (BENCH_WORKER_POOL, threads, x BENCH_WORKER_CONCURRENCY, 8);
without it tasks run inline (the embedded default).

Every round drives, one after the other, the baseline `GET /hello`, then `GET /health`,
`GET /api/v1/me`, `POST /api/v1/runtime/simulate` (2-step plan, API key) and `POST runs`
(`wait: true`, same plan), BENCH_SECONDS each (after BENCH_WARMUP, 5 s, of the same load: every
server thread has opened its connections before the window), with wrk (`-t2 -c25`;
installed with apt when missing, else a Python keep-alive load generator). Ratios are
req/s of the endpoint / req/s of the hello of the same round, so a noisy machine moves both.

    BENCH_BEFORE=16ab6b6 make bench-http              # before/after in the same run

BENCH_BEFORE (`--before REV`) also serves the project as it was at that git revision (`git archive`
into a temporary directory, same virtualenv, same database, same deploy/gunicorn.conf.py) and drives
it right before the current code on every endpoint: rows "name (before)".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bench.common import ensure_database  # noqa: E402
from bench.loadgen import LoadResult, python_load, wrk_available, wrk_load  # noqa: E402

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CELERY = str(Path(sys.executable).with_name("celery"))
TARGETS = {"health": None, "me": 0.7, "simulate": 0.5, "runs": 0.25}
P99_TARGET_MS = 25.0


def two_step_plan() -> list[dict]:
    return [
        {"skill": "json_transform", "params": {"payload": "{{ input }}", "mapping": {"p": "price", "s": "symbol"}}},
        {"skill": "json_transform", "params": {"payload": "{{ steps[0].output }}", "query": "p"}},
    ]


@dataclass(frozen=True)
class Case:
    name: str
    app: str  # "hello" | "aos" | "before"
    method: str
    path: str
    body: dict | None = None
    auth: bool = False


def cases() -> list[Case]:
    plan = two_step_plan()
    return [
        Case("hello", "hello", "GET", "/hello"),
        Case("health", "aos", "GET", "/health"),
        Case("me", "aos", "GET", "/api/v1/me", auth=True),
        Case("simulate", "aos", "POST", "/api/v1/runtime/simulate", {"plan": plan, "seed": 1}, auth=True),
        Case(
            "runs",
            "aos",
            "POST",
            "/api/v1/runtime/runs",
            {"plan": plan, "seed": 1, "input": {"price": 1, "symbol": "X"}, "wait": True},
            auth=True,
        ),
    ]


def with_before(selected: list[Case]) -> list[Case]:
    """Each project case preceded by the same case against the `--before` revision."""
    out: list[Case] = []
    for case in selected:
        if case.app == "aos":
            out.append(Case(f"{case.name} (before)", "before", case.method, case.path, case.body, case.auth))
        out.append(case)
    return out


def export_revision(rev: str, tmp: Path) -> Path:
    """The project's files at `rev` (no .git changes: `git archive`, not a worktree)."""
    target = tmp / "before"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_environment(*, tmp: Path) -> dict[str, str]:
    """The project's environment: production-like (DEBUG off), rate limiting on, logs at WARNING."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DEBUG="0",
        LOG_LEVEL="WARNING",
        RATELIMIT_ENABLE="1",
        SECRET_KEY=env.get("SECRET_KEY") or "bench-only-secret-key-not-for-production-0123456789",
        AOS_SECRETS_KEYS=env.get("AOS_SECRETS_KEYS") or Fernet.generate_key().decode(),
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        AOS_ENV_FILE=str(tmp / "no.env"),  # never the developer's .env
    )
    if not env.get("DATABASE_URL"):
        env["SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    # Every thread may wait on its run (the default, 4 per process, answers 202 past that).
    env.setdefault("AOS_RUN_WAIT_SLOTS", env.get("GUNICORN_THREADS", "64"))
    return env


def prepare_database(env: dict[str, str]) -> str:
    """Migrates, creates the benchmark tenant (unlimited tier) and a developer key; returns the raw key."""
    if env.get("DATABASE_URL"):
        ensure_database(env["DATABASE_URL"])
    code = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from accounts.models import Tenant\n"
        "from accounts.services import api_key_create\n"
        "t, _ = Tenant.objects.update_or_create(slug='bench-http', defaults="
        "{'name': 'bench', 'tier': 'unlimited', 'max_concurrent': 10000, 'budget_cents': 10**9})\n"
        "print(api_key_create(tenant=t, role='developer', name='bench_http')[1])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "aosproject.settings"},
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def start_gunicorn(app: str, port: int, env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    args = [GUNICORN, "-c", str(ROOT / "deploy/gunicorn.conf.py"), "--chdir", str(cwd), app]
    handle = log.open("w")
    return subprocess.Popen(
        args, cwd=cwd, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, stdout=handle, stderr=handle
    )


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    import urllib.request

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); log:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout:g} s; log:\n{log.read_text()[-3000:]}")


def check_once(base: str, case: Case, headers: dict[str, str]) -> int:
    """One request before loading: an endpoint that answers an error is reported, not benchmarked."""
    import urllib.request

    data = json.dumps(case.body).encode() if case.body is not None else None
    request = urllib.request.Request(base + case.path, data=data, method=case.method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{case.method} {case.path} answered {exc.code}: {exc.read()[:500]!r}") from exc


def run_case(base: str, case: Case, headers: dict[str, str], args, tmp: Path) -> LoadResult:
    body = json.dumps(case.body) if case.body is not None else None
    load = wrk_load if args.loadgen == "wrk" else python_load
    common = dict(
        url=base + case.path, method=case.method, headers=headers, body=body, connections=args.connections, tmp=tmp
    )
    if args.warmup > 0:
        load(seconds=args.warmup, threads=args.threads, **common)
    return load(seconds=args.seconds, threads=args.threads, **common)


def summarize(results: dict[str, list[LoadResult]], rounds: int) -> list[str]:
    lines = [
        "| endpoint | req/s per round | req/s median | p50 ms | p99 ms | errors | ratio to hello (per round) "
        "| target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    hello = results["hello"]
    for name, per_round in results.items():
        rps = [r.rps for r in per_round]
        ratios = [r.rps / h.rps for r, h in zip(per_round, hello, strict=True) if h.rps]
        base = name.removesuffix(" (before)")
        target = TARGETS.get(base)
        if name == "hello":
            ratio_text, target_text = "1", "-"
        else:
            ratio_text = " / ".join(f"{x:.2f}" for x in ratios)
            verdict = "" if target is None else (" ok" if min(ratios) >= target else " MISSED")
            target_text = "-" if target is None else f">= {target}{verdict}"
        p99 = max(r.p99_ms for r in per_round)
        p99_text = f"{p99:.1f}" + ("" if base in {"hello", "runs"} or p99 < P99_TARGET_MS else " (> 25)")
        lines.append(
            f"| {name} | {' / '.join(f'{x:.0f}' for x in rps)} | {statistics.median(rps):.0f} "
            f"| {statistics.median(r.p50_ms for r in per_round):.1f} | {p99_text} "
            f"| {sum(r.errors for r in per_round)} | {ratio_text} | {target_text} |"
        )
    return lines


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "12")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "2")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "25")))
    parser.add_argument("--threads", type=int, default=2, help="load generator threads (wrk -t)")
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", "5")))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""), help="comma-separated case names")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default=os.environ.get("BENCH_LOADGEN", "auto"))
    parser.add_argument("--before", default=os.environ.get("BENCH_BEFORE", ""), help="git revision to compare with")
    parser.add_argument("--json", help="also write the results to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, list[LoadResult]]:
    args = parse_args(argv)
    if args.loadgen == "auto":
        args.loadgen = "wrk" if wrk_available(install=True) else "python"
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    selected = [c for c in cases() if not wanted or c.name in wanted or c.name == "hello"]
    if args.before:
        selected = with_before(selected)
    tmp = Path(tempfile.mkdtemp(prefix="aos-bench-http-"))
    env = bench_environment(tmp=tmp)
    raw_key = prepare_database(env)
    ports = {"hello": free_port(), "aos": free_port(), "before": free_port()}
    procs: list[subprocess.Popen] = []
    try:
        procs.append(start_gunicorn("bench.hello.wsgi", ports["hello"], env, tmp / "hello.log"))
        procs.append(start_gunicorn("aosproject.wsgi", ports["aos"], env, tmp / "aos.log"))
        if args.before:
            before = export_revision(args.before, tmp)
            procs.append(start_gunicorn("aosproject.wsgi", ports["before"], env, tmp / "before.log", cwd=before))
            wait_ready(f"http://127.0.0.1:{ports['before']}/health", procs[-1], tmp / "before.log")
        if env.get("REDIS_URL") and any(c.name == "runs" for c in selected):
            log = (tmp / "worker.log").open("w")
            pool = os.environ.get("BENCH_WORKER_POOL", "threads")
            concurrency = os.environ.get("BENCH_WORKER_CONCURRENCY", "8")
            worker_args = [CELERY, "-A", "aosproject", "worker", "-P", pool, "-c", concurrency, "-l", "warning"]
            procs.append(subprocess.Popen(worker_args, cwd=ROOT, env=env, stdout=log, stderr=log))
        wait_ready(f"http://127.0.0.1:{ports['hello']}/hello", procs[0], tmp / "hello.log")
        wait_ready(f"http://127.0.0.1:{ports['aos']}/health", procs[1], tmp / "aos.log")
        auth = {"Authorization": f"Bearer {raw_key}"}
        json_type = {"Content-Type": "application/json"}
        results: dict[str, list[LoadResult]] = {c.name: [] for c in selected}
        for case in selected:
            headers = {**(auth if case.auth else {}), **(json_type if case.body is not None else {})}
            check_once(f"http://127.0.0.1:{ports[case.app]}", case, headers)
        backend = "PostgreSQL + Redis" if env.get("DATABASE_URL") and env.get("REDIS_URL") else "embedded default"
        if args.before:
            backend += f"; '(before)' rows: revision {args.before}"
        workers, threads = env.get("GUNICORN_WORKERS", "conf default"), env.get("GUNICORN_THREADS", "conf default")
        print(
            f"# bench_http: {backend}; gunicorn -c deploy/gunicorn.conf.py (workers {workers}, threads {threads}); "
            f"{args.loadgen} -t{args.threads} -c{args.connections}, {args.seconds:g} s x {args.rounds} rounds; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        for round_no in range(1, args.rounds + 1):
            for case in selected:
                headers = {**(auth if case.auth else {}), **(json_type if case.body is not None else {})}
                result = run_case(f"http://127.0.0.1:{ports[case.app]}", case, headers, args, tmp)
                results[case.name].append(result)
                print(
                    f"round {round_no} {case.name:17} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
                    f"p99 {result.p99_ms:6.1f} ms  errors {result.errors}",
                    flush=True,
                )
        print()
        print("\n".join(summarize(results, args.rounds)))
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        if args.json:
            Path(args.json).write_text(json.dumps({k: [r.__dict__ for r in v] for k, v in results.items()}, indent=2))
        return results
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)  # gunicorn: quick shutdown (SIGTERM waits graceful_timeout)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
