"""Fetch the BTC price, post "Current BTC price: $X" to Slack, then replay the run without re-posting.

Uses only the SDK (`aos_sdk`) against a running AOS server. Exit 0 on success, 1 when the plan is
infeasible or the run/replay does not end as expected, 2 on an API or connection error.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from aos_sdk import AOSClient, AOSError, PermissionDeniedError

COINGECKO = "https://api.coingecko.com/api/v3/simple/price?ids=bitcoin&vs_currencies=usd"
SECRET_NAME = "DEMO_SLACK_WEBHOOK_URL"


def slack_reference(aos: AOSClient, slack_url: str) -> tuple[str, str]:
    """The Slack URL as a plan param: a `{{ secrets.NAME }}` reference where the server stores secrets."""
    if aos.secrets_supported():
        try:
            aos.put_secret(SECRET_NAME, slack_url)
            return f"{{{{ secrets.{SECRET_NAME} }}}}", "secret"
        except PermissionDeniedError:
            print("note: storing secrets needs the admin role; passing the Slack URL as a plain param")
    return slack_url, "literal"


def build_plan(price_url: str, slack: str) -> list[dict[str, Any]]:
    return [
        {"skill": "http_call", "params": {"method": "GET", "url": price_url, "timeout": 10, "retries": 2}},
        {
            "skill": "json_transform",
            "params": {"payload": "{{ steps[0].output.body }}", "mapping": {"usd": "bitcoin.usd"}},
        },
        {"skill": "webhook_send", "params": {"url": slack, "text": "Current BTC price: ${{ steps[1].output.usd }}"}},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("AOS_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("AOS_API_KEY"))
    parser.add_argument("--price-url", default=COINGECKO)
    parser.add_argument("--slack-url", required=True, help="A Slack incoming-webhook URL.")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    with AOSClient(args.base_url, api_key=args.api_key) as aos:
        try:
            slack, how = slack_reference(aos, args.slack_url)
            plan = build_plan(args.price_url, slack)
            sim = aos.simulate(plan, seed=args.seed)
            print(
                f"simulate: {sim.status} (cost {sim.estimated_cost_cents} cents, "
                f"~{sim.estimated_duration_ms:.0f} ms, risk {sim.cumulative_risk:.3f})"
            )
            if not sim.feasible:
                print(f"OUTCOME btc_price_slack: aborted, simulate says {sim.status}")
                return 1
            run = aos.run(plan, seed=args.seed, agent_id="demo-btc-price-slack")
            print(f"run: {run.run_id} {run.status} root_hash {run.root_hash}")
            for step in run.steps:
                print(f"  step {step.index} {step.skill}: {step.status} {step.error_code}".rstrip())
            if run.status != "succeeded":
                print(f"OUTCOME btc_price_slack: failed, run ended {run.status} ({run.error_code})")
                return 1
            usd = run.steps[1].output["usd"]
            print(f"posted to Slack ({how} URL): Current BTC price: ${usd}")
            replay = aos.replay(run.run_id, mode="recorded")
            print(
                f"replay (recorded): parity {str(replay.parity).lower()}, root_hash {replay.root_hash}; "
                "webhook_send served from the recording, not re-posted"
            )
            if not replay.parity:
                print(f"OUTCOME btc_price_slack: failed, replay diverged: {replay.divergence}")
                return 1
        except AOSError as exc:
            print(f"OUTCOME btc_price_slack: error, {exc}")
            return 2
    print(f"OUTCOME btc_price_slack: ok price=${usd} slack_posts=1 replay_parity=true slack_url={how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
