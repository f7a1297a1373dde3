"""A local stand-in of the GitHub REST API (issues) and a Slack webhook receiver, plus trace factories.

The stand-in is a real HTTP server on 127.0.0.1 driven by the real PyGithub client. It keeps
issues and comments in memory, records every request and can be scripted to fail.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.servers import LocalServer
from traces.models import Trace, TraceStep

TOKEN = "ghp_standin_token"
REPO = "acme/agents"


class GitHubStandin:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.issues: dict[tuple[str, int], dict[str, Any]] = {}
        self.faults: list[tuple[str | None, int, dict, Any]] = []
        self._lock = threading.Lock()
        self.server = LocalServer(self._handle)

    # --- scripting -------------------------------------------------------------------------
    def fail_next(self, count: int, status: int, headers: dict | None = None, body: Any = None, method=None) -> None:
        """The next `count` requests (of `method`, or any) get this response instead."""
        for _ in range(count):
            self.faults.append((method, status, headers or {}, body or {"message": f"scripted {status}"}))

    # --- views of what happened -----------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self):
        return self.server.requests

    def calls(self, method: str, pattern: str) -> list:
        return [r for r in self.requests if r["method"] == method and re.fullmatch(pattern, r["path"].split("?")[0])]

    def created_issues(self) -> list[dict[str, Any]]:
        return [issue for _, issue in sorted(self.issues.items())]

    # --- the API ---------------------------------------------------------------------------
    def _issue_json(self, repo: str, issue: dict[str, Any]) -> dict[str, Any]:
        number = issue["number"]
        return {
            "id": 1000 + number,
            "number": number,
            "title": issue["title"],
            "body": issue["body"],
            "state": issue["state"],
            "labels": [{"name": name} for name in issue["labels"]],
            "comments": len(issue["comments"]),
            "url": f"{self.url}/repos/{repo}/issues/{number}",
            "html_url": f"https://github.example/{repo}/issues/{number}",
            "repository_url": f"{self.url}/repos/{repo}",
            "user": {"login": "aos-bot", "id": 1},
        }

    def _issue_list(self, repo: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """GET /repos/{repo}/issues: `state` (open, closed, all) and `labels` honoured, newest first;
        `since` is ignored (every issue here is recent)."""
        state = query.get("state", "open")
        wanted = {name for name in query.get("labels", "").split(",") if name}
        with self._lock:
            found = [
                issue
                for (r, _), issue in sorted(self.issues.items(), reverse=True)
                if r == repo and state in ("all", issue["state"]) and wanted <= set(issue["labels"])
            ]
            return [self._issue_json(repo, issue) for issue in found]

    def _handle(self, method: str, path: str, headers: dict, body: bytes):
        with self._lock:
            fault = next((f for f in self.faults if f[0] in (None, method)), None)
            if fault is not None:
                self.faults.remove(fault)
                return fault[1], fault[2], fault[3]
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if not auth.endswith(self.token):
            return 401, {}, {"message": "Bad credentials"}
        data = json.loads(body) if body else {}
        path, _, raw_query = path.partition("?")
        query = {k: v[0] for k, v in parse_qs(raw_query).items()}
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/issues(?:/(\d+)(/comments)?)?)?", path)
        if not match:
            return 404, {}, {"message": "Not Found"}
        repo, issues_part, number, comments = match.groups()
        if issues_part and number is None and method == "GET":
            return 200, {}, self._issue_list(repo, query)
        if comments and method == "GET":
            with self._lock:
                issue = self.issues.get((repo, int(number)))
                if issue is None:
                    return 404, {}, {"message": "Not Found"}
                listed = [
                    {"id": i + 1, "body": text, "user": {"login": "aos-bot"}}
                    for i, text in enumerate(issue["comments"])
                ]
                return 200, {}, listed
        if not issues_part and method == "GET":
            owner, name = repo.split("/")
            return 200, {}, {"id": 1, "name": name, "full_name": repo, "url": f"{self.url}/repos/{repo}"}
        with self._lock:
            if issues_part and number is None and method == "POST":
                new_number = len([k for k in self.issues if k[0] == repo]) + 1
                issue = {
                    "number": new_number,
                    "title": data["title"],
                    "body": data.get("body", ""),
                    "labels": list(data.get("labels", [])),
                    "state": "open",
                    "comments": [],
                }
                self.issues[(repo, new_number)] = issue
                return 201, {}, self._issue_json(repo, issue)
            issue = self.issues.get((repo, int(number))) if number else None
            if issue is None:
                return 404, {}, {"message": "Not Found"}
            if comments and method == "POST":
                issue["comments"].append(data["body"])
                return 201, {}, {"id": len(issue["comments"]), "body": data["body"], "user": {"login": "aos-bot"}}
            if method == "GET" and not comments:
                return 200, {}, self._issue_json(repo, issue)
            if method == "PATCH" and not comments:
                for key in ("state", "title", "body"):
                    if key in data:
                        issue[key] = data[key]
                return 200, {}, self._issue_json(repo, issue)
        return 404, {}, {"message": "Not Found"}

    def __enter__(self) -> GitHubStandin:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.__exit__(*exc)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def github():
    with GitHubStandin() as standin:
        yield standin


@pytest.fixture
def slack():
    """A Slack incoming-webhook receiver answering 200 "ok"; `slack.status` scripts its answer."""
    holder: dict[str, Any] = {"status": 200}

    def handle(method, path, headers, body):
        return holder["status"], {"Content-Type": "text/plain"}, b"ok" if holder["status"] == 200 else b"no_service"

    with LocalServer(handle) as server:
        server.holder = holder  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def github_on(settings, github):
    """Settings pointing the real PyGithub client at the stand-in; Slack off, webhook secret set."""
    settings.GITHUB_TOKEN = TOKEN
    settings.GITHUB_REPO = REPO
    settings.GITHUB_API_URL = github.url
    settings.GITHUB_WRITE_INTERVAL_SECONDS = 0
    settings.GITHUB_CLOSE_ON_RESOLVE = True
    settings.GITHUB_WEBHOOK_SECRET = "whsec-test"
    settings.SLACK_MISMATCH_WEBHOOK = ""
    settings.AOS_BASE_URL = "https://aos.example"
    return github


def make_trace(tenant, trace_id: str = "trace-1", *, steps: int = 3, plan_hash: str = "p" * 64) -> Trace:
    """A stored run with `steps` http_call steps (outputs differ per step)."""
    trace = Trace.objects.create(
        trace_id=trace_id,
        run_id=f"run-{trace_id}",
        tenant=tenant,
        source="run",
        plan=[{"skill": "http_call", "params": {"url": f"https://api.example/{i}"}} for i in range(steps)],
        plan_hash=plan_hash,
        seed=42,
        frozen_timestamp="2026-01-01T00:00:00Z",
        status="succeeded",
        root_hash="r" * 64,
        total_steps=steps,
    )
    TraceStep.objects.bulk_create(
        TraceStep(
            trace=trace,
            index=i,
            skill_id="http_call",
            params={"url": f"https://api.example/{i}"},
            output={"status": 200, "body": {"items": [1, 2, i], "name": f"step {i}"}},
            status="succeeded",
            input_hash=f"{i:064x}",
            output_hash=f"{i + 100:064x}",
            step_hash=f"{i + 200:064x}",
        )
        for i in range(steps)
    )
    return trace
