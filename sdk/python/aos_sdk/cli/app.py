"""`aos`: the AOS Control Plane from a terminal.

\b
Configuration: --base-url / AOS_BASE_URL (default http://127.0.0.1:8000),
--api-key / AOS_API_KEY or --token / AOS_TOKEN. Every command takes --json.

\b
Exit codes:
  0  ok
  1  a negative result: traces differ (diff), a hash does not verify (verify),
     a plan is infeasible (simulate), a run failed (run), a replay lost parity (replay)
  2  usage error, unreadable file, or an API / connection error
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict, TypeVar, cast

import click

from aos_sdk._version import __version__
from aos_sdk.cli import output as out
from aos_sdk.cli.views import (
    show_diff,
    show_group,
    show_groups,
    show_mismatches,
    show_replay,
    show_run,
    show_runs,
    show_simulation,
    show_skill,
    show_skills,
    show_trace,
    show_traces,
    show_verify,
)
from aos_sdk.client import AOSClient
from aos_sdk.diff import diff as trace_diff
from aos_sdk.errors import AOSError
from aos_sdk.models import GROUP_STATUS_FILTERS, RESOLUTION_KINDS, GroupStatusFilter, ResolutionKind, Run
from aos_sdk.trace import load as load_trace
from aos_sdk.trace import save as save_trace
from aos_sdk.trace import verify as verify_trace

F = TypeVar("F", bound=Callable[..., Any])


class Config:
    def __init__(self, base_url: str, api_key: str | None, token: str | None, timeout: float, retries: int) -> None:
        self.base_url, self.api_key, self.token, self.timeout = base_url, api_key, token, timeout
        self.retries = retries
        self._client: AOSClient | None = None

    def client(self) -> AOSClient:
        if self._client is None:
            self._client = AOSClient(
                self.base_url, api_key=self.api_key, token=self.token, timeout=self.timeout, max_retries=self.retries
            )
        return self._client


def command(group: click.Group, name: str | None = None) -> Callable[[F], F]:
    """A subcommand with `--json`; API errors become exit 2 with the error envelope."""

    def decorate(fn: F) -> F:
        def run(cfg: Config, *args: Any, as_json: bool, **kwargs: Any) -> Any:
            try:
                return fn(cfg, *args, as_json=as_json, **kwargs)
            except AOSError as exc:
                out.api_error(exc, as_json=as_json)
            except TimeoutError as exc:
                out.fail(str(exc), as_json=as_json)

        # wraps() carries fn's click parameters (__click_params__) and its name and help over.
        wrapper: Callable[..., Any] = functools.wraps(fn)(run)
        wrapper = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(
            click.pass_obj(wrapper)
        )
        group.command(name)(wrapper)
        return cast(F, wrapper)

    return decorate


@click.group(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aos")
@click.option("--base-url", envvar="AOS_BASE_URL", default="http://127.0.0.1:8000", show_default=True)
@click.option("--api-key", envvar="AOS_API_KEY", default=None, help="An aos_... API key (or AOS_API_KEY).")
@click.option("--token", envvar="AOS_TOKEN", default=None, help="A bearer JWT from the IdP (or AOS_TOKEN).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per HTTP request.")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True, help="Retries per request.")
@click.pass_context
def cli(
    ctx: click.Context, base_url: str, api_key: str | None, token: str | None, timeout: float, retries: int
) -> None:
    ctx.obj = Config(base_url, api_key, None if api_key else token, timeout, retries)


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {what} {path}: {exc}") from exc


def _plan_file(path: str) -> dict[str, Any]:
    """A plan file is a JSON list of steps, or an object with `plan` (and optional input, seed, ...)."""
    data = _read_json(path, "plan")
    if isinstance(data, list):
        return {"plan": data}
    if isinstance(data, dict) and isinstance(data.get("plan"), list):
        return data
    raise click.BadParameter(f"{path}: expected a list of steps or an object with a 'plan' list")


def _emit(result: Any, show: Callable[[Any], None], *, as_json: bool) -> None:
    """`--json`: the server's JSON (`raw`, or a list of them); else the rich view."""
    if as_json:
        out.emit_json([r.raw for r in result] if isinstance(result, list) else result.raw)
    else:
        show(result)


class _Paging(TypedDict):
    page_size: int
    max_items: int


def _first(limit: int) -> _Paging:
    """The list_* paging for `--limit N`: at most N items, in pages of at most 200."""
    return {"page_size": min(limit, 200), "max_items": limit}


@command(cli)
def health(cfg: Config, *, as_json: bool) -> None:
    """Is the server up (GET /health)."""
    result = cfg.client().health()
    if as_json:
        out.emit_json(result.raw)
    else:
        out.console().print(f"{cfg.base_url}: {result.status}")


@command(cli)
def me(cfg: Config, *, as_json: bool) -> None:
    """Who your credentials resolve to (tenant, roles, tier)."""
    result = cfg.client().me()
    if as_json:
        out.emit_json(result.raw)
    else:
        out.console().print(out.kv_table("principal", result.raw.items()))


@command(cli)
def skills(cfg: Config, *, as_json: bool) -> None:
    """The skill registry."""
    result = cfg.client().skills()
    _emit(result, show_skills, as_json=as_json)


@command(cli, "skill")
@click.argument("skill_id")
def skill_cmd(cfg: Config, skill_id: str, *, as_json: bool) -> None:
    """One skill: schema, cost and latency models, failure modes."""
    result = cfg.client().skill(skill_id)
    _emit(result, show_skill, as_json=as_json)


@command(cli)
@click.argument("plan_file", metavar="PLAN.json")
@click.option("--seed", type=int, default=None)
@click.option("--budget", "budget_cents", type=float, default=None, help="Budget in cents.")
@click.option("--save-trace", is_flag=True, help="Store a simulation trace on the server.")
def simulate(
    cfg: Config, plan_file: str, seed: int | None, budget_cents: float | None, save_trace: bool, *, as_json: bool
) -> None:
    """Simulate a plan (exit 1 when it is not feasible)."""
    spec = _plan_file(plan_file)
    result = cfg.client().simulate(
        spec["plan"],
        seed=seed if seed is not None else spec.get("seed"),
        budget_cents=budget_cents if budget_cents is not None else spec.get("budget_cents"),
        timestamp=spec.get("timestamp"),
        save_trace=save_trace,
    )
    _emit(result, show_simulation, as_json=as_json)
    if not result.feasible:
        raise SystemExit(out.EXIT_NEGATIVE)


@command(cli)
@click.argument("plan_file", metavar="PLAN.json")
@click.option("--input", "input_file", type=click.Path(dir_okay=False), default=None, help="JSON file: the run input.")
@click.option("--seed", type=int, default=None)
@click.option("--agent-id", default=None)
@click.option("--no-wait", is_flag=True, help="Queue the run and print its id without waiting.")
@click.option("--save", "save_path", type=click.Path(dir_okay=False), default=None, help="Write its trace file.")
def run(
    cfg: Config,
    plan_file: str,
    input_file: str | None,
    seed: int | None,
    agent_id: str | None,
    no_wait: bool,
    save_path: str | None,
    *,
    as_json: bool,
) -> None:
    """Run a plan and wait for it (exit 1 when the run failed)."""
    spec = _plan_file(plan_file)
    kwargs: dict[str, Any] = {
        "input": _read_json(input_file, "input") if input_file else spec.get("input"),
        "seed": seed if seed is not None else spec.get("seed"),
        "timestamp": spec.get("timestamp"),
        "budget_cents": spec.get("budget_cents"),
        "agent_id": agent_id or spec.get("agent_id"),
        "metadata": spec.get("metadata"),
    }
    client = cfg.client()
    if no_wait:
        if save_path:
            raise click.UsageError("--save needs the finished run: drop --no-wait")
        queued = client.create_run(spec["plan"], wait=False, **kwargs)
        if as_json:
            out.emit_json(queued.raw)
        else:
            out.console().print(f"queued {queued.run_id} ({queued.status}); follow with: aos trace {queued.run_id}")
        return
    console = out.console()
    if console.is_terminal and not as_json:
        with console.status("running…") as status:

            def progress(r: Run) -> None:
                status.update(f"run {r.run_id}: {r.status}…")

            result = client.run(spec["plan"], on_poll=progress, **kwargs)
    else:
        result = client.run(spec["plan"], **kwargs)
    if save_path:
        save_trace(client.get_trace(result.trace_id).to_trace_dict(), save_path)
    _emit(result, show_run, as_json=as_json)
    if save_path and not as_json:
        out.console().print(f"saved {save_path}")
    if result.status != "succeeded":
        raise SystemExit(out.EXIT_NEGATIVE)


@command(cli)
@click.argument("run_id")
@click.option("--mode", type=click.Choice(["recorded", "live"]), default=None)
@click.option("--dry-run", is_flag=True, help="Compare without storing a replay trace or a mismatch.")
def replay(cfg: Config, run_id: str, mode: str | None, dry_run: bool, *, as_json: bool) -> None:
    """Replay a run; exit 1 when it diverges (the first divergence is printed)."""
    result = cfg.client().replay(run_id, mode=mode, dry_run=dry_run)
    _emit(result, show_replay, as_json=as_json)
    if not result.parity:
        raise SystemExit(out.EXIT_NEGATIVE)


@command(cli)
@click.option("--status", default=None)
@click.option("--source", type=click.Choice(["run", "replay"]), default=None)
@click.option("--agent", "agent_id", default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def runs(
    cfg: Config, status: str | None, source: str | None, agent_id: str | None, limit: int, *, as_json: bool
) -> None:
    """Recent runs and replays, newest first."""
    items = list(cfg.client().list_runs(status=status, source=source, agent_id=agent_id, **_first(limit)))
    _emit(items, show_runs, as_json=as_json)


@command(cli)
@click.option("--status", default=None)
@click.option("--source", type=click.Choice(["run", "simulate", "replay", "ingest"]), default=None)
@click.option("--agent", "agent_id", default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def traces(
    cfg: Config, status: str | None, source: str | None, agent_id: str | None, limit: int, *, as_json: bool
) -> None:
    """Stored traces, newest first."""
    items = list(cfg.client().list_traces(status=status, source=source, agent_id=agent_id, **_first(limit)))
    _emit(items, show_traces, as_json=as_json)


@command(cli, "trace")
@click.argument("trace_id")
@click.option("--save", "save_path", type=click.Path(dir_okay=False), default=None, help="Write it as a .trace.json.")
def trace_cmd(cfg: Config, trace_id: str, save_path: str | None, *, as_json: bool) -> None:
    """One trace (by trace id or run id) with its steps."""
    record = cfg.client().get_trace(trace_id)
    if save_path:
        save_trace(record.to_trace_dict(), save_path)
    _emit(record, show_trace, as_json=as_json)
    if save_path and not as_json:
        out.console().print(f"saved {save_path}")


def _trace_arg(cfg: Config, ref: str) -> dict[str, Any]:
    """A trace file when the path exists, else a trace (or run) id fetched from the server."""
    if Path(ref).is_file():
        try:
            return load_trace(ref)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    return cfg.client().get_trace(ref).to_trace_dict()


@command(cli, "diff")
@click.argument("a")
@click.argument("b")
def diff_cmd(cfg: Config, a: str, b: str, *, as_json: bool) -> None:
    """Compare two traces (files or ids); exit 1 when they differ."""
    result = trace_diff(_trace_arg(cfg, a), _trace_arg(cfg, b))
    if as_json:
        out.emit_json(result.to_json())
    else:
        show_diff(a, b, result)
    if not result.match:
        raise SystemExit(out.EXIT_NEGATIVE)


@command(cli)
@click.argument("trace_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
def verify(cfg: Config, trace_file: str, *, as_json: bool) -> None:
    """Recompute every hash of a .trace.json; exit 1 naming the first one that does not verify."""
    try:
        data = load_trace(trace_file)
        problem = verify_trace(data)
    except (ValueError, KeyError, TypeError) as exc:
        out.fail(f"{trace_file}: not a verifiable trace ({exc!r})", as_json=as_json)
        return
    if as_json:
        out.emit_json(
            {
                "file": trace_file,
                "ok": problem is None,
                "steps": len(data["steps"]),
                "root_hash": data.get("root_hash"),
                "error": None
                if problem is None
                else {
                    "path": problem.path,
                    "step_index": problem.step_index,
                    "field": problem.field,
                    "expected": problem.expected,
                    "got": problem.got,
                },
            }
        )
    else:
        show_verify(trace_file, data, problem)
    if problem is not None:
        raise SystemExit(out.EXIT_NEGATIVE)


@command(cli)
@click.option("--unresolved", is_flag=True, help="Only unresolved mismatches.")
@click.option("--trace", "trace_id", default=None, help="Only this trace's mismatches.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def mismatches(cfg: Config, unresolved: bool, trace_id: str | None, limit: int, *, as_json: bool) -> None:
    """Replay mismatches, newest first."""
    items = list(
        cfg.client().list_mismatches(trace_id=trace_id, resolved=False if unresolved else None, **_first(limit))
    )
    _emit(items, show_mismatches, as_json=as_json)


@command(cli)
@click.argument("trace_id", metavar="TRACE")
@click.argument("mismatch_id", metavar="MISMATCH")
@click.option("--note", default=None)
def resolve(cfg: Config, trace_id: str, mismatch_id: str, note: str | None, *, as_json: bool) -> None:
    """Resolve a mismatch (operator), with an optional note."""
    result = cfg.client().resolve_mismatch(trace_id, mismatch_id, note=note)
    if as_json:
        out.emit_json(result.raw)
    else:
        out.console().print(f"resolved {result.id} on {result.trace_id} by {result.resolved_by or '?'}")


@command(cli)
@click.option(
    "--status",
    type=click.Choice(GROUP_STATUS_FILTERS),
    default=None,
    help="unresolved, resolved or regressed; open: unresolved or regressed.",
)
@click.option("--skill", default=None)
@click.option("--agent", default=None)
@click.option("--reason", default=None, help="e.g. output_mismatch.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def groups(
    cfg: Config,
    status: str | None,
    skill: str | None,
    agent: str | None,
    reason: str | None,
    limit: int,
    *,
    as_json: bool,
) -> None:
    """Mismatch groups (one per fingerprint), most recently seen first."""
    found = cfg.client().mismatch_groups(
        status=cast(GroupStatusFilter | None, status), skill=skill, agent=agent, reason=reason, **_first(limit)
    )
    _emit(list(found), show_groups, as_json=as_json)


@command(cli, "group")
@click.argument("group_id", metavar="ID", type=int)
def group_cmd(cfg: Config, group_id: int, *, as_json: bool) -> None:
    """One mismatch group: where it diverged, the latest diff and the timeline."""
    _emit(cfg.client().mismatch_group(group_id), show_group, as_json=as_json)


@command(cli, "resolve-group")
@click.argument("group_id", metavar="ID", type=int)
@click.option("--kind", type=click.Choice(RESOLUTION_KINDS), required=True, help="How it was resolved.")
@click.option("--note", required=True, help="Why (shown on GitHub with the kind).")
def resolve_group(cfg: Config, group_id: int, kind: str, note: str, *, as_json: bool) -> None:
    """Resolve a mismatch group and its mismatches (operator) with a kind and a note."""
    result = cfg.client().resolve_mismatch_group(group_id, kind=cast(ResolutionKind, kind), note=note)
    if as_json:
        out.emit_json(result.raw)
    else:
        out.console().print(
            f"resolved group {result.id} as {result.resolution_kind} by {result.resolved_by or '?'} "
            f"({out.counted(result.count, 'mismatch', 'mismatches')})",
            markup=False,
        )


def main() -> None:
    cli(prog_name="aos")
