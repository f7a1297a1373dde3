"""One execution policy for runs, replays and simulate (PRODUCT.md §14).

A plan is untrusted input: whatever path it arrives by (POST runs, a replay of a run or of an
ingested SDK trace, simulate), it is checked against the same tenant policy: allowed skills,
budget (the tenant's when the trace carries none), AOS_MAX_PLAN_STEPS, expression and size
caps, and a deadline. A replay the policy refuses gets exactly the error a run would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from accounts.models import Tenant
from aos_sdk import hashing
from aosproject.errors import ApiError
from runtime.caps import Caps
from runtime.plans import PlanInvalid, plan_validate
from vault.plans import refuse_literal_credentials


@dataclass(frozen=True)
class ExecutionPolicy:
    tenant: Tenant
    budget_cents: int
    max_steps: int
    deadline_seconds: float
    caps: Caps

    def deadline(self, *, started: float | None = None) -> float:
        """The run's deadline on the `time.monotonic()` clock."""
        return (time.monotonic() if started is None else started) + self.deadline_seconds


def caps_from_settings() -> Caps:
    return Caps(
        max_output_bytes=settings.AOS_MAX_STEP_OUTPUT_BYTES,
        max_params_bytes=settings.AOS_MAX_PARAMS_BYTES,
        max_expression_chars=settings.AOS_MAX_EXPRESSION_CHARS,
        max_expression_depth=settings.AOS_MAX_EXPRESSION_DEPTH,
    )


def run_lease_seconds() -> int:
    """How long a run can be in flight: its deadline plus the reaper's grace period."""
    return int(settings.AOS_RUN_DEADLINE_SECONDS + settings.AOS_RUN_REAP_GRACE_SECONDS) + 1


def policy_for(*, tenant: Tenant, budget_cents: int | None = None) -> ExecutionPolicy:
    """The policy for one execution; `budget_cents` None means the tenant's budget."""
    return ExecutionPolicy(
        tenant=tenant,
        budget_cents=tenant.budget_cents if budget_cents is None else budget_cents,
        max_steps=settings.AOS_MAX_PLAN_STEPS,
        deadline_seconds=float(settings.AOS_RUN_DEADLINE_SECONDS),
        caps=caps_from_settings(),
    )


def _refuse_disallowed(tenant: Tenant, plan: list[dict[str, Any]]) -> None:
    for index, step in enumerate(plan):
        for prefix, call in ((f"plan[{index}]", step), (f"plan[{index}].fallback", step.get("fallback"))):
            if call and not tenant.skill_allowed(call["skill"]):
                message = f"Skill {call['skill']!r} is not allowed for tenant {tenant.slug}."
                fields = {f"{prefix}.skill": [message]}
                raise ApiError("permission_denied", f"{prefix}.skill: {message}", 403, fields=fields)


def plan_admit(
    *,
    policy: ExecutionPolicy,
    plan: Any,
    allow_unknown_skills: bool = False,
    refuse_disallowed: bool = True,
    refuse_credentials: bool = True,
    context: str = "",
) -> list[dict[str, Any]]:
    """The normalised plan if the policy admits it; else the 400/403 a run gets.

    Simulate passes `refuse_disallowed=False`: it reports disallowed skills as permission gaps.
    Replays pass `refuse_credentials=False`: a stored plan was checked (or redacted) when stored.
    `context` prefixes the message (e.g. for a stored plan that is replayed).
    """
    try:
        plan_validate(plan, max_steps=policy.max_steps, allow_unknown_skills=allow_unknown_skills, caps=policy.caps)
    except PlanInvalid as exc:
        raise ApiError("validation_error", f"{context}{exc.message}", 400, fields=exc.fields)
    if refuse_credentials:
        refuse_literal_credentials(plan=plan)  # credentials belong in the secret store (vault/)
    plan = hashing.normalise_plan(plan)
    if refuse_disallowed:
        _refuse_disallowed(policy.tenant, plan)
    return plan
