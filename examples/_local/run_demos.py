"""`make demos`: the stand-ins, a server started like `make run`, and the three demos against them.

The server gets its own SQLite file in a temporary directory (so the demo key never revokes the
one `make run` printed) and `HTTP_CALL_ALLOWED_HOSTS` set to the stand-ins' address only. Prints
each demo's outcome line; exits 1 if any demo failed, 2 if the server or stand-ins did not start.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
STANDIN_HOST = "127.0.0.2"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def main() -> int:
    python = sys.executable
    host = os.environ.get("DEMO_HOST", "127.0.0.1")
    port = int(os.environ.get("DEMO_PORT") or free_port(host))
    base_url = f"http://{host}:{port}"
    procs: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory(prefix="aos-demos-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(SQLITE_PATH=str(Path(tmp) / "demos.sqlite3"), HTTP_CALL_ALLOWED_HOSTS=STANDIN_HOST)
        try:
            urls_file = Path(tmp) / "standins.json"
            procs.append(
                subprocess.Popen(
                    [
                        python,
                        str(EXAMPLES / "_local" / "standins.py"),
                        "--host",
                        STANDIN_HOST,
                        "--urls-file",
                        str(urls_file),
                    ],
                    stdout=subprocess.DEVNULL,
                    text=True,
                )
            )
            manage = [python, str(ROOT / "manage.py")]
            subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
            seeded = subprocess.run(
                [*manage, "seed_demo", "--base-url", base_url],
                env=env,
                check=True,
                cwd=ROOT,
                capture_output=True,
                text=True,
            ).stdout
            if re.search(r"API key:\s+(aos_\S+)", seeded) is None:
                print(f"demos: seed_demo printed no API key:\n{seeded}", file=sys.stderr)
                return 2
            # An admin key, so the btc demo can keep the Slack URL in the secret store (PRODUCT.md §13).
            admin_key = (
                subprocess.run(
                    [*manage, "create_api_key", "--tenant", "demo", "--role", "admin", "--name", "demos"],
                    env=env,
                    check=True,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            procs.append(
                subprocess.Popen(
                    [*manage, "runserver", f"{host}:{port}", "--noreload"],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
            if not wait_for(f"{base_url}/health", 30):
                print(f"demos: the server did not answer on {base_url}/health", file=sys.stderr)
                return 2
            for _ in range(50):
                if urls_file.exists() and urls_file.read_text().strip():
                    break
                time.sleep(0.1)
            urls = json.loads(urls_file.read_text())
            print(f"demos: server {base_url} (SQLite in {tmp}), stand-ins on {STANDIN_HOST}")
            demo_env = {**os.environ, "AOS_BASE_URL": base_url, "AOS_API_KEY": admin_key}
            demos = [
                ("btc_price_slack", ["--price-url", urls["price"], "--slack-url", urls["slack"]]),
                ("json_transform", ["--check-determinism"]),
                ("http_retry", ["--url", urls["flaky"], "--down-url", urls["down"]]),
            ]
            failed = []
            for name, args in demos:
                result = subprocess.run(
                    ["sh", str(EXAMPLES / name / "run.sh"), *args],
                    env=demo_env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                outcome = [line for line in result.stdout.splitlines() if line.startswith("OUTCOME ")]
                print(f"[{'ok' if result.returncode == 0 else 'FAILED'}] {outcome[-1] if outcome else name}")
                if result.returncode != 0:
                    failed.append(name)
                    sys.stdout.write(result.stdout + result.stderr)
            slack = [
                r
                for r in json.loads(urllib.request.urlopen(urls["requests"], timeout=5).read())  # noqa: S310
                if r["path"].startswith("/services/")
            ]
            messages = f"{len(slack)} message{'' if len(slack) == 1 else 's'}"
            print(f"demos: the Slack stand-in received {messages}: {[m['json'] for m in slack]}")
            print(f"demos: {len(demos) - len(failed)} passed, {len(failed)} failed")
            return 1 if failed else 0
        finally:
            for proc in reversed(procs):
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    sys.exit(main())
