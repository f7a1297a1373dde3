"""Runtime workflows (PRODUCT.md §4): simulate, run, replay, capabilities. Views call these."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Tenant
from aos_sdk import hashing
from aos_sdk.trace import new_trace_id, utc_timestamp
from aosproject import log_context
from aosproject.errors import ApiError, Conflict
from aosproject.metrics import REPLAYS, RUN_COST_USD, RUNS, SIMULATE_DURATION, TRACES_STORED
from runtime import engine
from runtime.admission import admission_acquire, admission_release, admission_renew, concurrency_limit
from runtime.comparison import compare
from runtime.lifecycle import run_dispatch, run_finished_signal, run_wait
from runtime.policy import ExecutionPolicy, plan_admit, policy_for
from runtime.recording import STEP_BATCH, execution_store, new_run_id, recorded_steps
from runtime.redacted_replay import redacted_step_indices
from runtime.simulate import simulate
from runtime.skills import REGISTRY
from traces.models import StepStatus, Trace, TraceSource, TraceStatus, TraceStep
from traces.redaction import redact
from triage.services import mismatch_record
from vault.plans import refuse_literal_credentials, secret_permission_gaps, with_secret_gaps
from vault.resolver import run_secrets

logger = logging.getLogger(__name__)

REPLAYABLE_SOURCES = (TraceSource.RUN, TraceSource.REPLAY, TraceSource.INGEST)


# --- simulate ------------------------------------------------------------------------------


def plan_simulate(
    *,
    tenant: Tenant,
    plan: Any,
    budget_cents: int | None = None,
    seed: int = 0,
    timestamp: str | None = None,
    save_trace: bool = False,
) -> dict[str, Any]:
    """The §4 simulate result; with `save_trace` also a simulation trace (content-addressed id)."""
    with SIMULATE_DURATION.time():
        policy = policy_for(tenant=tenant, budget_cents=budget_cents)
        # Same policy as a run; disallowed skills are reported as permission gaps, not refused.
        plan = plan_admit(policy=policy, plan=plan, allow_unknown_skills=True, refuse_disallowed=False)
        result = simulate(
            plan,
            budget_cents=policy.budget_cents,
            seed=seed,
            allowed_skills=tenant.allowed_skills,
            allowed_hosts=settings.HTTP_CALL_ALLOWED_HOSTS,
        )
        result = with_secret_gaps(result, secret_permission_gaps(tenant=tenant, plan=plan))
        if save_trace:
            trace = _simulation_trace(tenant=tenant, plan=plan, result=result, seed=seed, timestamp=timestamp)
            result["trace_id"], result["root_hash"] = trace.trace_id, trace.root_hash
    return result


def _simulation_trace(*, tenant: Tenant, plan, result, seed: int, timestamp: str | None) -> Trace:
    """Steps are not executed: status `skipped`, output = the step's estimate, input = params as given.

    The trace id derives from the root hash, so saving the same simulation twice stores it once and
    the response stays byte-identical.
    """
    timestamp = timestamp or utc_timestamp()
    plan_hash = hashing.plan_hash(plan)
    rows, step_hashes = [], []
    for index, (step, estimate) in enumerate(zip(plan, result["step_estimates"], strict=True)):
        output = {k: estimate[k] for k in ("estimated_cost_cents", "estimated_latency_ms")}
        in_hash, out_hash = hashing.input_hash(step["params"]), hashing.output_hash(output)
        s_hash = hashing.step_hash(
            index=index, skill=step["skill"], input_hash=in_hash, output_hash=out_hash, status=StepStatus.SKIPPED.value
        )
        step_hashes.append(s_hash)
        skill = REGISTRY.get(step["skill"])
        rows.append(
            TraceStep(
                index=index,
                skill_id=step["skill"],
                skill_version=skill.version if skill else "",
                params=step["params"],
                output=output,
                status=StepStatus.SKIPPED,
                input_hash=in_hash,
                output_hash=out_hash,
                step_hash=s_hash,
                cost_cents=estimate["estimated_cost_cents"],
                duration_ms=0,
            )
        )
    root = hashing.root_hash(plan_hash=plan_hash, seed=seed, timestamp=timestamp, step_hashes=step_hashes)
    trace_id = "sim_" + root[:32]
    with transaction.atomic():
        trace, created = Trace.objects.get_or_create(
            tenant=tenant,
            trace_id=trace_id,
            defaults={
                "source": TraceSource.SIMULATE,
                "plan": plan,
                "plan_hash": plan_hash,
                "seed": seed,
                "frozen_timestamp": timestamp,
                "status": TraceStatus.SIMULATED,
                "root_hash": root,
                "metadata": {"simulation": {k: result[k] for k in ("status", "feasible", "cumulative_risk")}},
                "total_steps": len(rows),
                "total_cost_cents": result["estimated_cost_cents"],
            },
        )
        if created:
            for row in rows:
                row.trace = trace
            TraceStep.objects.bulk_create(rows, batch_size=STEP_BATCH)
    if created:
        TRACES_STORED.labels(source=TraceSource.SIMULATE).inc()
    return trace


# --- runs --------------------------------------------------------------------------------


def run_create(
    *,
    tenant: Tenant,
    plan: Any,
    run_input: Any = None,
    seed: int = 0,
    timestamp: str | None = None,
    budget_cents: int | None = None,
    agent_id: str = "",
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> Trace:
    """Checks the plan against the policy and stores the run as a queued trace (see `run_execute`)."""
    policy = policy_for(tenant=tenant, budget_cents=budget_cents)
    plan = plan_admit(policy=policy, plan=plan)
    refuse_literal_credentials(plan=[], run_input=run_input)
    metadata, redactions = redact(metadata or {})  # audit data, never replayed: redacted like ingested traces
    return Trace.objects.create(
        trace_id=new_trace_id(),
        run_id=run_id or new_run_id(),
        tenant=tenant,
        source=TraceSource.RUN,
        agent_id=agent_id,
        plan=plan,
        plan_hash=hashing.plan_hash(plan),
        input=run_input,
        seed=seed,
        frozen_timestamp=timestamp or utc_timestamp(),
        status=TraceStatus.QUEUED,
        metadata=metadata,
        redacted=bool(redactions),
        budget_cents=policy.budget_cents,
    )


def run_start(*, tenant: Tenant, wait: bool, on_created=None, **fields: Any) -> Trace:
    """Admits, creates and dispatches a run; `wait` waits a bounded time for it to finish.

    The run holds one of the tenant's concurrency slots until it finishes (429 when none is
    free). `on_created(trace)` is told the run exists before anything executes (idempotency
    links its key to the run there). With eager tasks (embedded default) the run executes inline,
    under its deadline; with a broker a worker executes it and `wait` waits for its signal at most
    AOS_RUN_WAIT_SECONDS (decision 0066). With `wait` the trace comes back with its steps prefetched.
    A broker that is down: 503, and the run is marked failed (never left queued).
    """
    run_id = new_run_id()
    admission_acquire(tenant=tenant, token=run_id)
    try:
        trace = run_create(tenant=tenant, run_id=run_id, **fields)
    except BaseException:
        admission_release(tenant_id=tenant.pk, token=run_id)
        raise
    if on_created is not None:
        on_created(trace)
    if wait and _tasks_run_inline():
        run_dispatch(trace=trace)  # the embedded default: executes here, under the run's deadline
    else:
        transaction.on_commit(lambda: run_dispatch(trace=trace))  # a worker must see the committed row
        if wait:
            run_wait(trace=trace, seconds=settings.AOS_RUN_WAIT_SECONDS)
    if wait:  # as it is now, with its steps: what the answer shows when it finished
        return Trace.objects.prefetch_related("steps").get(pk=trace.pk)
    return trace


def _tasks_run_inline() -> bool:
    from aosproject.celery import app

    return bool(app.conf.task_always_eager)


def run_execute(*, trace_pk: int) -> Trace:
    """Executes a queued run once (a redelivered task finds it taken and does nothing)."""
    taken = Trace.objects.filter(pk=trace_pk, status=TraceStatus.QUEUED)
    # `updated_at` of a running trace is when it started: the reaper measures the deadline from it.
    taken_now = taken.update(status=TraceStatus.RUNNING, updated_at=timezone.now())
    trace = Trace.objects.select_related("tenant").get(pk=trace_pk)  # the tenant's tier labels the cost
    # The task's log lines, its closing one included (aosproject/log_celery.py), name the run and the tenant.
    log_context.bind(trace_id=trace.trace_id, run_id=trace.run_id, tenant=trace.tenant.slug)
    if not taken_now:
        return trace
    policy = policy_for(tenant=trace.tenant, budget_cents=trace.budget_cents)
    token = trace.run_id or trace.trace_id  # runs always have a run_id; the slot is keyed by it
    admission_renew(tenant_id=trace.tenant_id, token=token)
    try:
        execution = _execute(trace, policy)
    finally:
        admission_release(tenant_id=trace.tenant_id, token=token)
    if execution is None:
        run_finished_signal(trace_pk=trace.pk)
        trace.refresh_from_db()
        return trace
    execution_store(trace=trace, execution=execution)
    run_finished_signal(trace_pk=trace.pk)  # wakes a `wait: true` request (runtime.lifecycle.run_wait)
    RUNS.labels(status=execution.status).inc()
    RUN_COST_USD.labels(tier=trace.tenant.tier).inc(execution.total_cost_cents / 100)
    return trace


def _execute(trace: Trace, policy: ExecutionPolicy) -> engine.Execution | None:
    """The engine under the policy; None when it crashed (the run is then failed and visible)."""
    secrets = run_secrets(tenant=trace.tenant)
    try:
        with secrets.active():  # log lines written meanwhile are masked too
            return engine.execute(
                trace.plan,
                run_input=trace.input,
                seed=trace.seed,
                timestamp=trace.frozen_timestamp,
                budget_cents=policy.budget_cents,
                secrets=secrets,
                deadline=policy.deadline(),
                caps=policy.caps,
            )
    except Exception as exc:  # an engine bug (or the task's soft time limit): failed, not stuck `running`
        from celery.exceptions import SoftTimeLimitExceeded

        timed_out = isinstance(exc, SoftTimeLimitExceeded)
        if not timed_out:
            with secrets.active():
                logger.exception("run %s crashed", trace.run_id)
        code = engine.ERR_DEADLINE_EXCEEDED if timed_out else engine.ERR_INTERNAL
        Trace.objects.filter(pk=trace.pk, status=TraceStatus.RUNNING).update(
            status=TraceStatus.FAILED,
            error_code=code,
            error_message=secrets.mask(str(exc))[:2000],
            finished_at=timezone.now(),
        )
        RUNS.labels(status=TraceStatus.FAILED).inc()
        return None


def run_get(*, tenant: Tenant, run_id: str) -> Trace:
    trace = (
        Trace.objects.for_tenant(tenant)
        .filter(source__in=(TraceSource.RUN, TraceSource.REPLAY))
        .lookup(run_id)
        .prefetch_related("steps")
        .first()
    )
    if trace is None:
        raise ApiError("not_found", f"No run {run_id!r}.", 404)
    return trace


# --- replay ------------------------------------------------------------------------------


def run_replay(
    *, tenant: Tenant, run_id: str, mode: str = "recorded", dry_run: bool = False, on_started=None
) -> dict[str, Any]:
    """Re-runs a stored run with its seed and frozen timestamp and reports the first divergence.

    Under the same policy, deadline and concurrency limit as a run; `on_started(replay_run_id)`
    is told before anything executes.
    """
    original = Trace.objects.for_tenant(tenant).filter(source__in=REPLAYABLE_SOURCES).lookup(run_id).first()
    if original is None:
        raise ApiError("not_found", f"No run {run_id!r}.", 404)
    if original.status not in (TraceStatus.SUCCEEDED, TraceStatus.FAILED):
        raise Conflict(f"Run {run_id!r} is {original.status}; only finished runs can be replayed.")
    # The policy of a run, whatever the trace's origin: an ingested trace has no budget (the
    # tenant's applies) and a plan nobody checked; a run's plan is checked again (the tenant's
    # allowed skills may have changed since).
    policy = policy_for(tenant=tenant, budget_cents=original.budget_cents)
    plan = plan_admit(
        policy=policy, plan=original.plan, refuse_credentials=False, context="The stored plan cannot be replayed: "
    )
    recorded = recorded_steps(original)
    behaviours = [engine.step_behaviour(step, mode=mode) for step in plan]
    served_redacted = redacted_step_indices(original, plan, recorded)
    for index in served_redacted:
        behaviours[index] = "redacted"  # never re-executed with a redacted value: served as recorded
    secrets = run_secrets(tenant=tenant)
    replay_run_id = new_run_id()
    slot = admission_acquire(tenant=tenant, token=replay_run_id)
    try:
        if on_started is not None:
            on_started(replay_run_id)
        with secrets.active():
            execution = engine.execute(
                plan,
                run_input=original.input,
                seed=original.seed,
                timestamp=original.frozen_timestamp,
                budget_cents=policy.budget_cents,
                replay=engine.ReplayPlan(behaviours=behaviours, recorded=recorded),
                prevalidated=False,
                secrets=secrets,
                deadline=policy.deadline(),
                caps=policy.caps,
            )
    finally:
        admission_release(tenant_id=slot.tenant_id, token=slot.token)
    # Replays spend too: every re-executed step (check, execute) costs; a step served from the recording does not.
    RUN_COST_USD.labels(tier=tenant.tier).inc(execution.total_cost_cents / 100)
    divergence = compare(
        recorded, execution.steps, behaviours, recorded_root=original.root_hash, replay_root=execution.root_hash
    )
    parity = divergence is None
    result: dict[str, Any] = {
        "parity": parity,
        "replay_run_id": None,
        "original_run_id": original.run_id or original.trace_id,
        "mode": mode,
        "dry_run": dry_run,
        "root_hash": execution.root_hash,
        "original_root_hash": original.root_hash,
        "divergence": divergence,
        "mismatch_id": None,
        "served_redacted_steps": served_redacted,
    }
    if not dry_run:
        with transaction.atomic():
            replay = Trace.objects.create(
                trace_id=new_trace_id(),
                run_id=replay_run_id,
                tenant=tenant,
                source=TraceSource.REPLAY,
                replay_of=original,
                agent_id=original.agent_id,
                plan=plan,
                plan_hash=execution.plan_hash,
                input=original.input,
                seed=original.seed,
                frozen_timestamp=original.frozen_timestamp,
                status=TraceStatus.RUNNING,
                budget_cents=policy.budget_cents,
                parity=parity,
                metadata={"replay": {"mode": mode, "parity": parity}},
            )
            execution_store(trace=replay, execution=execution)
            result["replay_run_id"] = replay.run_id
            if divergence:
                step_index = divergence["step_index"]
                skill_id = recorded[step_index].skill_id if step_index < len(recorded) else ""
                mismatch = mismatch_record(
                    trace=original,
                    step_index=step_index,
                    reason=divergence["reason"],
                    reported_by="replay",
                    skill_id=skill_id,
                    expected_hash=divergence["expected_hash"],
                    actual_hash=divergence["actual_hash"],
                    details={"replay_run_id": replay.run_id, "mode": mode, **divergence},
                )
                result["mismatch_id"] = str(mismatch.id)
    REPLAYS.labels(parity="true" if parity else "false").inc()
    return result


# --- capabilities --------------------------------------------------------------------------


def capabilities_get(*, principal, rate_limit_state=None) -> dict[str, Any]:
    from accounts.ratelimit import peek_usage

    tenant = principal.tenant
    allowed = sorted(s for s in REGISTRY if tenant.skill_allowed(s))
    return {
        "tenant": tenant.slug,
        "budget_cents": tenant.budget_cents,
        "allowed_skills": allowed,
        "skills": sorted(REGISTRY),
        "rate_limit": peek_usage(principal, state=rate_limit_state),
        "limits": {
            "max_plan_steps": settings.AOS_MAX_PLAN_STEPS,
            "max_concurrent_runs": concurrency_limit(tenant),
            "run_deadline_seconds": settings.AOS_RUN_DEADLINE_SECONDS,
        },
        "roles": sorted(principal.roles),
    }
