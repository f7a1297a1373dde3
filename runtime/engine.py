"""Execution and replay comparison (PRODUCT.md §3, §4). No database: callers persist the result.

`execute` runs a validated plan step by step: references resolved, params re-validated, budget
checked before each call, step retry policy, fallback skill, `on_error`, and the §3 hash chain.
In a replay it serves `skip` steps from the recorded trace instead of calling the skill.
Every call runs under the execution policy's limits (runtime.policy): a deadline that no step,
retry or backoff passes (ERR_DEADLINE_EXCEEDED) and the caps of runtime.caps on resolved params,
expressions and outputs. `runtime.comparison.compare` finds the first divergence of a replay.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jmespath.exceptions import JMESPathError

from aos_sdk import hashing
from runtime.caps import (
    ERR_EXPRESSION_TOO_COMPLEX,
    ERR_PARAMS_TOO_LARGE,
    CapExceeded,
    Caps,
    ExpressionTooComplex,
    expression_compile,
    json_size,
)
from runtime.plans import has_reference, resolve, runtime_params_problem
from runtime.skills import REGISTRY, ExecContext, Skill, SkillError
from vault.references import NoSecrets, SecretError, has_secret_reference

ERR_BUDGET_EXCEEDED = "ERR_BUDGET_EXCEEDED"
ERR_SKILL_UNAVAILABLE = "ERR_SKILL_UNAVAILABLE"
ERR_INVALID_PARAMS = "ERR_INVALID_PARAMS"
ERR_REFERENCE = "ERR_REFERENCE"
ERR_INTERNAL = "ERR_INTERNAL"
ERR_DEADLINE_EXCEEDED = "ERR_DEADLINE_EXCEEDED"


@dataclass
class StepRun:
    index: int
    skill_id: str
    skill_version: str
    params: Any
    output: Any
    status: str
    input_hash: str
    output_hash: str
    step_hash: str
    error_code: str = ""
    error_message: str = ""
    cost_cents: float = 0.0
    duration_ms: float = 0.0
    retry_count: int = 0
    replay_behaviour: str = ""


@dataclass
class Execution:
    plan_hash: str
    seed: int
    timestamp: str
    steps: list[StepRun] = field(default_factory=list)
    root_hash: str = ""
    status: str = "succeeded"
    error_code: str = ""
    error_message: str = ""

    @property
    def total_cost_cents(self) -> float:
        return round(sum(s.cost_cents for s in self.steps), 6)

    @property
    def total_duration_ms(self) -> float:
        return round(sum(s.duration_ms for s in self.steps), 3)


@dataclass(frozen=True)
class RecordedStep:
    """A stored step as replay sees it (from the database)."""

    index: int
    skill_id: str
    skill_version: str
    params: Any
    output: Any
    status: str
    error_code: str
    input_hash: str
    output_hash: str
    step_hash: str


@dataclass(frozen=True)
class ReplayPlan:
    behaviours: list[str]  # per plan step: check | skip | execute
    recorded: list[RecordedStep]


def step_behaviour(step: dict[str, Any], *, mode: str) -> str:
    """The replay behaviour of a plan step: explicit `replay`, else the skill's default for the mode."""
    if step.get("replay"):
        return step["replay"]
    skill = REGISTRY.get(step.get("skill", ""))
    if skill is None:
        return "check"
    params = step.get("params") or {}
    if skill.side_effects(params):
        return "skip"  # never resend a side effect unless the plan says `execute`
    if mode == "live":
        return "check"
    return skill.default_replay(params)


def _finish(run: StepRun) -> StepRun:
    run.output_hash = hashing.output_hash(run.output)
    run.step_hash = hashing.step_hash(
        index=run.index, skill=run.skill_id, input_hash=run.input_hash, output_hash=run.output_hash, status=run.status
    )
    return run


def _resolved(raw_params: Any, context: dict[str, Any], caps: Caps) -> Any:
    """The step's params with `{{ }}` references substituted (raises CapExceeded, JMESPathError).

    One place, so later substitutions (e.g. secrets, resolved only when the skill runs) slot in here.
    """
    params = resolve(raw_params, context, caps=caps)
    json_size(params, limit=caps.max_params_bytes)
    return params


def _limits_problem(skill: Skill, params: Any, caps: Caps) -> tuple[str, str] | None:
    """(code, message) when an expression that arrived through data is unusable."""
    if not isinstance(params, dict):
        return None
    for name, expr in skill.expressions(params).items():
        if not isinstance(expr, str):
            continue
        try:
            expression_compile(expr, caps)
        except ExpressionTooComplex as exc:
            return ERR_EXPRESSION_TOO_COMPLEX, f"params.{name}: {exc.message}"
        except JMESPathError as exc:
            return ERR_INVALID_PARAMS, f"params.{name}: Invalid JMESPath expression: {exc}"
    return None


def _past(deadline: float | None, clock: Callable[[], float], *, after: float = 0.0) -> bool:
    return deadline is not None and clock() + after >= deadline


def _call(
    call: dict[str, Any],
    *,
    index: int,
    context: dict[str, Any],
    ctx: ExecContext,
    retry: dict[str, Any],
    budget_left: float | None,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    prevalidated: bool,
    secrets: Any,
) -> StepRun:
    """One skill call with its retry policy; never raises for a skill failure."""
    skill_id = call["skill"]
    skill = REGISTRY.get(skill_id)
    raw_params = call.get("params", {})
    run = StepRun(index, skill_id, skill.version if skill else "", raw_params, None, "failed", "", "", "")
    try:
        run.params = _resolved(raw_params, context, ctx.caps)
    except CapExceeded as exc:
        code = ERR_PARAMS_TOO_LARGE if exc.code != ERR_EXPRESSION_TOO_COMPLEX else exc.code
        run.input_hash = hashing.input_hash(raw_params)
        run.error_code, run.error_message = code, f"Resolving params: {exc.message}"
        return run
    except JMESPathError as exc:
        run.input_hash = hashing.input_hash(raw_params)
        run.error_code, run.error_message = ERR_REFERENCE, str(exc)
        return run
    run.input_hash = hashing.input_hash(run.params)
    if skill is None:
        run.error_code, run.error_message = ERR_SKILL_UNAVAILABLE, f"Unknown skill {skill_id!r}."
        return run
    # Literal params were validated with the plan; only resolved references need a second look.
    recheck = not prevalidated or has_reference(raw_params)
    limited = _limits_problem(skill, run.params, ctx.caps) if recheck else None
    if limited:
        run.error_code, run.error_message = limited
        return run
    problem = runtime_params_problem(skill, run.params) if recheck else None
    if problem:
        run.error_code, run.error_message = ERR_INVALID_PARAMS, problem
        return run
    estimate = skill.estimate_cost_cents(run.params)
    if budget_left is not None and estimate > budget_left + 1e-9:
        run.error_code = ERR_BUDGET_EXCEEDED
        run.error_message = f"Step needs up to {estimate} cents; {max(budget_left, 0):.6g} left in the budget."
        return run
    # Only the params handed to the skill carry secret values; run.params keeps the references (hashed).
    call_params = run.params
    if has_secret_reference(raw_params):
        try:
            call_params = resolve(raw_params, context, secret=secrets.value, caps=ctx.caps)
        except SecretError as exc:
            run.error_code, run.error_message = exc.code, exc.message
            return run
    attempts = int(retry.get("max_attempts", 1))
    backoff_ms = int(retry.get("backoff_ms", 0))
    for attempt in range(attempts):
        try:
            result = skill.execute(call_params, ctx)
            json_size(result.output, limit=ctx.caps.max_output_bytes)
        except SkillError as exc:
            run.retry_count += exc.retries + (1 if attempt else 0)
            run.output, run.error_code, run.error_message = exc.output, exc.code, exc.message
            if not exc.retryable or attempt + 1 >= attempts:
                return run
            pause = backoff_ms * (2**attempt) / 1000.0
            if _past(ctx.deadline, clock, after=pause):  # never sleep past the run's deadline
                run.error_message = f"Retry in {pause:g}s would pass the run's deadline; last error: {exc.message}"
                run.error_code = ERR_DEADLINE_EXCEEDED
                return run
            sleep(pause)
            continue
        except CapExceeded as exc:  # the output of a skill that does not bound it while building
            run.output, run.error_code, run.error_message = None, exc.code, f"Step output: {exc.message}"
            return run
        except Exception as exc:  # a bug in a skill must not lose the run's trace
            # Past the deadline it is the deadline that ended the call (e.g. Celery's SoftTimeLimitExceeded).
            code = ERR_DEADLINE_EXCEEDED if _past(ctx.deadline, clock) else ERR_INTERNAL
            run.output, run.error_code, run.error_message = None, code, f"{type(exc).__name__}: {exc}"
            return run
        run.retry_count += result.retries + (1 if attempt else 0)
        run.output, run.status, run.cost_cents = result.output, "succeeded", result.cost_cents
        run.error_code = run.error_message = ""
        return run
    return run


def _mask(run: StepRun, secrets: Any) -> StepRun:
    """Secret values never leave the execution: params, output and error masked before hashing."""
    run.params = secrets.mask(run.params)
    run.output = secrets.mask(run.output)
    run.error_message = secrets.mask(run.error_message)
    return run


def _deadline_step(step: dict[str, Any], index: int) -> StepRun:
    """The step that did not start because the run's deadline had passed."""
    skill = REGISTRY.get(step.get("skill", ""))
    raw_params = step.get("params", {})
    run = StepRun(index, step.get("skill", ""), skill.version if skill else "", raw_params, None, "failed", "", "", "")
    run.input_hash = hashing.input_hash(raw_params)
    run.error_code, run.error_message = ERR_DEADLINE_EXCEEDED, "The run's deadline passed before this step started."
    return run


def _serve(
    recorded: RecordedStep,
    index: int,
    context: dict[str, Any],
    raw_params: Any,
    caps: Caps,
    *,
    redacted: bool = False,
) -> StepRun:
    """A `skip` step in a replay: the recorded output, with the replay's own resolved input hash.

    `redacted`: the recording was redacted at ingest, so its hashes (of the original content) are kept.
    """
    try:
        params = _resolved(raw_params, context, caps)
    except (JMESPathError, CapExceeded):
        params = raw_params
    run = StepRun(
        index=index,
        skill_id=recorded.skill_id,
        skill_version=recorded.skill_version,
        params=params,
        output=recorded.output,
        status=recorded.status,
        input_hash=hashing.input_hash(params),
        output_hash="",
        step_hash="",
        error_code=recorded.error_code,
        replay_behaviour="skip",
    )
    if redacted:
        run.input_hash, run.output_hash, run.step_hash = recorded.input_hash, recorded.output_hash, recorded.step_hash
        return run
    return _finish(run)


def execute(
    plan: list[dict[str, Any]],
    *,
    run_input: Any,
    seed: int,
    timestamp: str,
    budget_cents: float | None,
    replay: ReplayPlan | None = None,
    sleep: Callable[[float], None] = time.sleep,
    prevalidated: bool = True,
    secrets: Any = None,
    deadline: float | None = None,
    caps: Caps | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Execution:
    """Runs a plan and returns every step with its hashes and the root hash.

    `prevalidated`: the plan passed `plan_validate` (runs do); otherwise every step's params are
    checked against the skill's schema before the call. `secrets` (vault.resolver.RunSecrets) gives
    `{{ secrets.NAME }}` values to the skill and masks them in everything the execution returns.
    `deadline` (on `clock`, monotonic) ends the run failed with ERR_DEADLINE_EXCEEDED at the first
    step that would start after it.
    """
    secrets = secrets if secrets is not None else NoSecrets()
    caps = caps or Caps()
    execution = Execution(plan_hash=hashing.plan_hash(plan), seed=seed, timestamp=timestamp)
    root = hashing.root_zero(plan_hash=execution.plan_hash, seed=seed, timestamp=timestamp)
    context: dict[str, Any] = {"input": run_input, "steps": []}
    spent = 0.0
    for index, step in enumerate(plan):
        behaviour = replay.behaviours[index] if replay else ""
        started = time.perf_counter()
        if replay is not None and behaviour in ("skip", "redacted"):
            if index >= len(replay.recorded):
                break  # nothing recorded to serve, and a skipped step is never executed
            raw_params = step.get("params", {})
            redacted = behaviour == "redacted"
            run = _serve(replay.recorded[index], index, context, raw_params, caps, redacted=redacted)
        elif _past(deadline, clock):
            run = _finish(_deadline_step(step, index))
            run.replay_behaviour = behaviour or step_behaviour(step, mode="recorded")
        else:
            ctx = ExecContext(seed=seed, timestamp=timestamp, step_index=index, deadline=deadline, caps=caps)
            left = None if budget_cents is None else budget_cents - spent
            call = functools.partial(
                _call,
                index=index,
                context=context,
                ctx=ctx,
                budget_left=left,
                sleep=sleep,
                clock=clock,
                prevalidated=prevalidated,
                secrets=secrets,
            )
            run = call(step, retry=step.get("retry") or {})
            no_fallback = (ERR_BUDGET_EXCEEDED, ERR_DEADLINE_EXCEEDED)
            if run.status == "failed" and step.get("fallback") and run.error_code not in no_fallback:
                primary = run
                run = call(step["fallback"], retry={})
                run.retry_count += primary.retry_count
                run.cost_cents += primary.cost_cents
                if run.status == "succeeded":
                    run.error_message = f"{primary.skill_id} failed ({primary.error_code}); fallback used."
            run.replay_behaviour = behaviour or step_behaviour(step, mode="recorded")
            _finish(_mask(run, secrets))
        run.duration_ms = round((time.perf_counter() - started) * 1000.0, 3)
        spent += run.cost_cents
        execution.steps.append(run)
        root = hashing.root_next(root, run.step_hash)
        context["steps"].append({"output": run.output, "status": run.status})
        deadline_hit = run.error_code == ERR_DEADLINE_EXCEEDED  # the deadline ends the run, `continue` or not
        if run.status == "failed" and (deadline_hit or step.get("on_error", "abort") == "abort"):
            execution.status = "failed"
            execution.error_code = run.error_code
            execution.error_message = f"step {index} ({run.skill_id}): {run.error_message}"
            break
    execution.root_hash = root
    return execution
