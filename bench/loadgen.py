"""Load generators for bench_http.py: wrk (Debian's package) or, without it, Python keep-alive threads."""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # connect/read/write errors, timeouts and responses with a status >= 400


def wrk_available(*, install: bool) -> bool:
    """wrk on PATH; with `install`, `apt-get install wrk` first when it is missing (root or sudo)."""
    if shutil.which("wrk"):
        return True
    if install and shutil.which("apt-get"):
        prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
        if prefix is not None:
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run([*prefix, "apt-get", "install", "-y", "-q", "wrk"], env=env, check=False)
    return bool(shutil.which("wrk"))


# `done` prints one line bench_http parses: requests, duration µs, errors, p50 and p99 in µs.
_WRK_SCRIPT = """
wrk.method = {method}
{body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("AOSBENCH %d %d %d %d %.0f %.0f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(value: str) -> str:
    level = "=" * 4
    while f"]{level}]" in value:
        level += "="
    return f"[{level}[{value}]{level}]"


def wrk_load(
    *,
    url: str,
    method: str,
    headers: dict[str, str],
    body: str | None,
    seconds: float,
    connections: int,
    threads: int,
    tmp: Path,
) -> LoadResult:
    script = tmp / "wrk.lua"
    lines = [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    script.write_text(
        _WRK_SCRIPT.format(
            method=_lua_string(method),
            body=f"wrk.body = {_lua_string(body)}" if body is not None else "",
            headers="\n".join(lines),
        )
    )
    os.chmod(script, 0o600)  # it holds the benchmark's API key
    duration = max(1, round(seconds))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    fields = next(line for line in out.splitlines() if line.startswith("AOSBENCH")).split()[1:]
    requests, duration_us, socket_errors, status_errors, p50_us, p99_us = (int(float(x)) for x in fields)
    elapsed = duration_us / 1e6
    return LoadResult(
        requests=requests,
        seconds=elapsed,
        rps=requests / elapsed if elapsed else 0.0,
        p50_ms=p50_us / 1000,
        p99_ms=p99_us / 1000,
        errors=socket_errors + status_errors,
    )


def python_load(
    *,
    url: str,
    method: str,
    headers: dict[str, str],
    body: str | None,
    seconds: float,
    connections: int,
    threads: int,
    tmp: Path,
) -> LoadResult:
    """`connections` threads, one keep-alive connection each (slower than wrk: compare ratios only)."""
    parts = urlsplit(url)
    payload = body.encode() if body is not None else None
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        mine: list[float] = []
        failed = 0
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                connection.request(method, parts.path, body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors += failed

    pool = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    if len(latencies) < 2:
        return LoadResult(len(latencies), elapsed, len(latencies) / elapsed, 0.0, 0.0, errors)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        rps=len(latencies) / elapsed,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        errors=errors,
    )
