"""What the runtime asks of the secret store about a plan: refusals and simulate's permission gaps."""

from __future__ import annotations

from typing import Any

from accounts.models import Tenant
from aosproject.errors import ApiError
from vault.literals import plan_literal_credentials
from vault.references import secret_names
from vault.services import secret_names_missing


def refuse_literal_credentials(*, plan: list[dict[str, Any]], run_input: Any = None) -> None:
    """400 `validation_error` naming every field that carries a literal credential."""
    fields = plan_literal_credentials(plan, run_input)
    if fields:
        first, messages = next(iter(fields.items()))
        raise ApiError("validation_error", f"{first}: {messages[0]}", 400, fields=fields)


def _step_secret_names(step: dict[str, Any]) -> set[str]:
    names = secret_names(step.get("params") or {})
    fallback = step.get("fallback")
    if isinstance(fallback, dict):
        names |= secret_names(fallback.get("params") or {})
    return names


def secret_permission_gaps(*, tenant: Tenant, plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One gap per step and secret it refers to that the tenant does not have (plan order, then name)."""
    per_step = [_step_secret_names(step) for step in plan]
    missing = secret_names_missing(tenant=tenant, names=set().union(*per_step) if per_step else set())
    return [
        {
            "step_index": index,
            "skill_id": step.get("skill", ""),
            "reason": f"secret {name!r} is not set for tenant",
            "secret": name,
        }
        for index, (step, names) in enumerate(zip(plan, per_step, strict=True))
        for name in sorted(names & missing)
    ]


def with_secret_gaps(result: dict[str, Any], gaps: list[dict[str, Any]]) -> dict[str, Any]:
    """The simulate result with the gaps added; `permission_denied` outranks all but `skill_unavailable`."""
    if not gaps:
        return result
    result["permission_gaps"] = sorted([*result["permission_gaps"], *gaps], key=lambda g: g["step_index"])
    if result["status"] != "skill_unavailable":
        result["status"] = "permission_denied"
    result["feasible"] = False
    return result
