"""`AOSClient`: one typed method per endpoint of the AOS Control Plane API (PRODUCT.md §4-§6, §13).

with AOSClient("http://127.0.0.1:8000", api_key="aos_...") as aos:
    run = aos.run([{"skill": "json_transform", "params": {...}}], seed=42)
    print(run.status, run.root_hash)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from aos_sdk._http import RetryPolicy, decode, send
from aos_sdk._version import __version__
from aos_sdk.errors import AOSError, NotFoundError
from aos_sdk.models import (
    BulkReport,
    Capabilities,
    Comparison,
    GroupStatusFilter,
    Health,
    Mismatch,
    MismatchGroup,
    MismatchReport,
    Model,
    Principal,
    ReplayResult,
    ResolutionKind,
    Run,
    Secret,
    Simulation,
    Skill,
    TraceRecord,
)
from aos_sdk.trace import Trace

M = TypeVar("M", bound=Model)
Plan = Sequence[Mapping[str, Any]]
API = "/api/v1"


def _seg(value: str) -> str:
    """A path segment, escaped so an id can never change the route."""
    return quote(str(value), safe="")


class AOSClient:
    """A client for one server and one credential (an API key, or a bearer token from the IdP)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        on_retry: Callable[[int, float, str], None] | None = None,
    ) -> None:
        if api_key and token:
            raise ValueError("give api_key or token, not both")
        headers = {"User-Agent": f"aos-sdk/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = api_key
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self.on_retry = on_retry
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport, follow_redirects=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AOSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """The decoded JSON body of a successful call (None for 204); raises an `AOSError`."""
        response = send(
            self._http,
            self.retry,
            method,
            path,
            json=json,
            params=params,
            idempotency_key=idempotency_key,
            on_retry=self.on_retry,
        )
        return decode(response)

    def _pages(
        self, path: str, model: type[M], params: Mapping[str, Any], page_size: int | None, max_items: int | None
    ) -> Iterator[M]:
        """Every item of a cursor-paginated list, following `next` until it is null."""
        query = {**params, "limit": page_size}
        url: str | None = path
        yielded = 0
        while url is not None:
            body = self.request("GET", url, params=query)
            query = {}  # the `next` link carries the cursor and every filter
            items = body["results"] if isinstance(body, dict) else body
            for item in items:
                if max_items is not None and yielded >= max_items:
                    return
                yield model.from_json(item)
                yielded += 1
            url = self._same_origin(body.get("next")) if isinstance(body, dict) else None

    def _same_origin(self, link: str | None) -> str | None:
        """A `next` link as a path on our server: the credentials never follow a link elsewhere."""
        if not link:
            return None
        parts = urlsplit(link)
        base = urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) in (("", ""), (base.scheme, base.netloc)):
            return link
        return urlunsplit(("", "", parts.path, parts.query, ""))

    # -- service ----------------------------------------------------------------------------------
    def health(self) -> Health:
        return Health.from_json(self.request("GET", "/health"))

    def me(self) -> Principal:
        return Principal.from_json(self.request("GET", f"{API}/me"))

    # -- runtime ----------------------------------------------------------------------------------
    def skills(self) -> list[Skill]:
        return [Skill.from_json(s) for s in self.request("GET", f"{API}/runtime/skills")]

    def skill(self, skill_id: str) -> Skill:
        return Skill.from_json(self.request("GET", f"{API}/runtime/skills/{_seg(skill_id)}"))

    def capabilities(self) -> Capabilities:
        return Capabilities.from_json(self.request("GET", f"{API}/runtime/capabilities"))

    def simulate(
        self,
        plan: Plan,
        *,
        budget_cents: float | None = None,
        seed: int | None = None,
        timestamp: str | None = None,
        save_trace: bool = False,
        idempotency_key: str | None = None,
    ) -> Simulation:
        body = _drop_none({"plan": list(plan), "budget_cents": budget_cents, "seed": seed, "timestamp": timestamp})
        if save_trace:
            body["save_trace"] = True
        data = self.request("POST", f"{API}/runtime/simulate", json=body, idempotency_key=idempotency_key)
        return Simulation.from_json(data)

    def create_run(
        self,
        plan: Plan,
        *,
        input: Any = None,
        seed: int | None = None,
        timestamp: str | None = None,
        budget_cents: float | None = None,
        agent_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        wait: bool = False,
        idempotency_key: str | None = None,
    ) -> Run:
        """POST runs: the finished run (201, `wait`), or the queued run (202) to poll."""
        body = _drop_none(
            {
                "plan": list(plan),
                "input": input,
                "seed": seed,
                "timestamp": timestamp,
                "budget_cents": budget_cents,
                "agent_id": agent_id,
                "metadata": dict(metadata) if metadata is not None else None,
                "wait": wait,
            }
        )
        data = self.request("POST", f"{API}/runtime/runs", json=body, idempotency_key=idempotency_key)
        return Run.from_json(data)

    def run(
        self,
        plan: Plan,
        *,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        on_poll: Callable[[Run], None] | None = None,
        **kwargs: Any,
    ) -> Run:
        """Runs a plan and returns it finished (asks the server to wait, polls if it answers 202)."""
        run = self.create_run(plan, wait=True, **kwargs)
        if run.finished and "steps" in run.raw:
            return run
        return self.wait_for_run(run.run_id, timeout=timeout, poll_interval=poll_interval, on_poll=on_poll)

    def get_run(self, run_id: str) -> Run:
        return Run.from_json(self.request("GET", f"{API}/runtime/runs/{_seg(run_id)}"))

    def wait_for_run(
        self,
        run_id: str,
        *,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        on_poll: Callable[[Run], None] | None = None,
    ) -> Run:
        """Polls `GET runs/{id}` until the run has finished; `TimeoutError` past `timeout` seconds."""
        deadline = self.retry.clock() + timeout
        while True:
            run = self.get_run(run_id)
            if on_poll is not None:
                on_poll(run)
            if run.finished:
                return run
            if self.retry.clock() >= deadline:
                raise TimeoutError(f"run {run_id} still {run.status} after {timeout} s")
            self.retry.sleep(poll_interval)

    def list_runs(
        self,
        *,
        status: str | None = None,
        agent_id: str | None = None,
        source: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[Run]:
        params = {"status": status, "agent_id": agent_id, "source": source}
        return self._pages(f"{API}/runtime/runs", Run, params, page_size, max_items)

    def replay(
        self,
        run_id: str,
        *,
        mode: str | None = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> ReplayResult:
        body: dict[str, Any] = _drop_none({"mode": mode})
        if dry_run:
            body["dry_run"] = True
        path = f"{API}/runtime/replay/{_seg(run_id)}"
        return ReplayResult.from_json(self.request("POST", path, json=body, idempotency_key=idempotency_key))

    # -- traces -----------------------------------------------------------------------------------
    def ingest_trace(
        self, trace: Trace | Mapping[str, Any], *, overwrite: bool = False, idempotency_key: str | None = None
    ) -> TraceRecord:
        payload = trace.to_dict() if isinstance(trace, Trace) else dict(trace)
        if overwrite:
            payload["overwrite"] = True
        return TraceRecord.from_json(
            self.request("POST", f"{API}/traces", json=payload, idempotency_key=idempotency_key)
        )

    def list_traces(
        self,
        *,
        status: str | None = None,
        source: str | None = None,
        agent_id: str | None = None,
        root_hash: str | None = None,
        plan_hash: str | None = None,
        run_id: str | None = None,
        skill: str | None = None,
        pinned: bool | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[TraceRecord]:
        params = {
            "status": status,
            "source": source,
            "agent_id": agent_id,
            "root_hash": root_hash,
            "plan_hash": plan_hash,
            "run_id": run_id,
            "skill": skill,
            "pinned": pinned,
            "created_after": created_after,
            "created_before": created_before,
        }
        return self._pages(f"{API}/traces", TraceRecord, params, page_size, max_items)

    def get_trace(self, trace_id: str) -> TraceRecord:
        """One trace with its plan, input and steps; `trace_id` may also be a run id."""
        return TraceRecord.from_json(self.request("GET", f"{API}/traces/{_seg(trace_id)}"))

    def traces_by_hash(self, root_hash: str, *, page_size: int | None = None) -> Iterator[TraceRecord]:
        return self._pages(f"{API}/traces/by-hash/{_seg(root_hash)}", TraceRecord, {}, page_size, None)

    def compare_traces(self, a: str, b: str) -> Comparison:
        return Comparison.from_json(self.request("GET", f"{API}/traces/compare/{_seg(a)}/{_seg(b)}"))

    def delete_trace(self, trace_id: str) -> None:
        self.request("DELETE", f"{API}/traces/{_seg(trace_id)}")

    # -- mismatches -------------------------------------------------------------------------------
    def report_mismatch(
        self,
        trace_id: str,
        *,
        step_index: int,
        reason: str,
        expected_hash: str | None = None,
        actual_hash: str | None = None,
        details: Any = None,
        idempotency_key: str | None = None,
    ) -> MismatchReport:
        body = _drop_none(
            {
                "step_index": step_index,
                "reason": reason,
                "expected_hash": expected_hash,
                "actual_hash": actual_hash,
                "details": details,
            }
        )
        path = f"{API}/traces/{_seg(trace_id)}/mismatch"
        return MismatchReport.from_json(self.request("POST", path, json=body, idempotency_key=idempotency_key))

    def list_mismatches(
        self,
        *,
        trace_id: str | None = None,
        resolved: bool | None = None,
        reason: str | None = None,
        notified: bool | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[Mismatch]:
        """The tenant's mismatches, or one trace's when `trace_id` is given."""
        path = f"{API}/traces/{_seg(trace_id)}/mismatches" if trace_id else f"{API}/mismatches"
        params = {
            "resolved": resolved,
            "reason": reason,
            "notified": notified,
            "created_after": created_after,
            "created_before": created_before,
        }
        return self._pages(path, Mismatch, params, page_size, max_items)

    def resolve_mismatch(self, trace_id: str, mismatch_id: str, *, note: str | None = None) -> Mismatch:
        path = f"{API}/traces/{_seg(trace_id)}/mismatches/{_seg(mismatch_id)}/resolve"
        return Mismatch.from_json(self.request("POST", path, json=_drop_none({"note": note})))

    def bulk_report_mismatches(self, mismatch_ids: Sequence[str], *, idempotency_key: str | None = None) -> BulkReport:
        body = {"mismatch_ids": [str(m) for m in mismatch_ids], "github_issue": True}
        path = f"{API}/traces/mismatches/bulk-report"
        return BulkReport.from_json(self.request("POST", path, json=body, idempotency_key=idempotency_key))

    # -- mismatch groups (PRODUCT.md §15) ---------------------------------------------------------
    def mismatch_groups(
        self,
        *,
        status: GroupStatusFilter | None = None,
        skill: str | None = None,
        agent: str | None = None,
        reason: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[MismatchGroup]:
        """The tenant's mismatch groups, most recently seen first (list items: no diff, no events).

        `status="open"`: the unresolved and the regressed ones, what needs triage."""
        params = {"status": status, "skill": skill, "agent": agent, "reason": reason}
        return self._pages(f"{API}/mismatch-groups", MismatchGroup, params, page_size, max_items)

    def mismatch_group(self, group_id: int) -> MismatchGroup:
        """One group with its latest mismatch, the latest diff and the timeline (`events`, oldest first)."""
        return MismatchGroup.from_json(self.request("GET", f"{API}/mismatch-groups/{_seg(str(group_id))}"))

    def resolve_mismatch_group(
        self, group_id: int, *, kind: ResolutionKind, note: str, idempotency_key: str | None = None
    ) -> MismatchGroup:
        """Resolves a group and its mismatches (operator); `ConflictError` when it is already resolved,
        `ValidationError` for an unknown kind or an empty note."""
        path = f"{API}/mismatch-groups/{_seg(str(group_id))}/resolve"
        body = {"kind": kind, "note": note}
        return MismatchGroup.from_json(self.request("POST", path, json=body, idempotency_key=idempotency_key))

    # -- secrets (admin; servers before PRODUCT.md §13 answer 404) ----------------------------------
    def secrets_supported(self) -> bool:
        """Whether the server has the secret store (a 404 on its route means it does not)."""
        try:
            self.request("GET", f"{API}/secrets")
        except NotFoundError:
            return False
        except AOSError as exc:
            return exc.status_code not in (None, 405)
        return True

    def put_secret(self, name: str, value: str) -> Secret:
        data = self.request("PUT", f"{API}/secrets/{_seg(name)}", json={"value": value})
        return Secret.from_json(data if isinstance(data, dict) else {"name": name})

    def get_secret(self, name: str) -> Secret:
        """A secret's name and timestamps (the value is write-only)."""
        return Secret.from_json(self.request("GET", f"{API}/secrets/{_seg(name)}"))

    def list_secrets(self) -> list[Secret]:
        data = self.request("GET", f"{API}/secrets")
        items = data.get("results", []) if isinstance(data, dict) else data
        return [Secret.from_json(s) for s in items]

    def delete_secret(self, name: str) -> None:
        self.request("DELETE", f"{API}/secrets/{_seg(name)}")


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


__all__ = ["AOSClient", "RetryPolicy"]
