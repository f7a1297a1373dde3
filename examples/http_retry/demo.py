"""`http_call` against a flaky URL: the retries recorded in the trace, then the fallback path.

1. `--url` answers 503 a few times, then 200: the step succeeds after retries (`retry_count`).
2. `--down-url` never succeeds: the step's `fallback` (a `json_transform`) answers instead.
Prints a structured outcome (JSON) for both. Uses only the SDK. Exit 0 when both behave as
described, 1 otherwise, 2 on an API error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from aos_sdk import AOSClient, AOSError
from aos_sdk.models import Run

FALLBACK = {
    "skill": "json_transform",
    "params": {"payload": {"source": "fallback", "status": "degraded"}, "query": "@"},
}


def plan(url: str, retries: int, backoff_ms: int) -> list[dict[str, Any]]:
    return [
        {
            "skill": "http_call",
            "params": {"method": "GET", "url": url, "timeout": 5, "retries": retries, "backoff_ms": backoff_ms},
            "fallback": FALLBACK,
        }
    ]


def outcome(run: Run) -> dict[str, Any]:
    step = run.steps[0]
    return {
        "run_id": run.run_id,
        "run_status": run.status,
        "skill": step.skill,
        "step_status": step.status,
        "retries": step.retry_count,
        "used_fallback": step.skill != "http_call",
        "output": step.output,
        "error_code": step.error_code or None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("AOS_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("AOS_API_KEY"))
    parser.add_argument("--url", required=True, help="Fails with 503 a few times, then succeeds.")
    parser.add_argument("--down-url", default=None, help="Never succeeds (default: <url's origin>/always-503).")
    parser.add_argument("--retries", type=int, default=4, help="http_call retries (at most 5).")
    parser.add_argument("--backoff-ms", type=int, default=50)
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    down_url = args.down_url or f"{parts.scheme}://{parts.netloc}/always-503"

    with AOSClient(args.base_url, api_key=args.api_key) as aos:
        try:
            flaky = aos.run(plan(args.url, args.retries, args.backoff_ms), agent_id="demo-http-retry")
            down = aos.run(plan(down_url, 1, args.backoff_ms), agent_id="demo-http-retry")
        except AOSError as exc:
            print(f"OUTCOME http_retry: error, {exc}")
            return 2
    report = {"flaky": outcome(flaky), "down": outcome(down)}
    print(json.dumps(report, indent=2))
    f, d = report["flaky"], report["down"]
    print(f"flaky URL: {f['step_status']} after {f['retries']} retr{'y' if f['retries'] == 1 else 'ies'}")
    print(f"down URL: {d['step_status']} through the fallback ({d['skill']}): {json.dumps(d['output'])}")
    ok = (
        f["step_status"] == "succeeded"
        and f["retries"] > 0
        and not f["used_fallback"]
        and d["used_fallback"]
        and d["step_status"] == "succeeded"
    )
    if not ok:
        print("OUTCOME http_retry: failed, the runs did not retry and fall back as expected")
        return 1
    print(f"OUTCOME http_retry: ok retries={f['retries']} fallback_used=true")
    return 0


if __name__ == "__main__":
    sys.exit(main())
