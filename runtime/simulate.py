"""Deterministic plan simulation (PRODUCT.md §4). Pure: no database, no clock, no I/O.

Everything in the result is derived from the plan, budget, seed, the tenant's allowed skills and
the outbound allow-list, in plan order, with rounded numbers, so the same input renders to the
same bytes. Destinations are judged without DNS (docs/decisions/0016): a URL the policy refuses
by its syntax or its literal address is a permission gap; a host name is checked when it runs.
"""

from __future__ import annotations

import difflib
from typing import Any

from runtime.skills import REGISTRY, egress
from runtime.skills.base import is_reference
from runtime.skills.http_call import HttpCall
from runtime.skills.llm_invoke import DEFAULT_MODEL, PRICES_CENTS_PER_1K

RISK_THRESHOLD = 0.5  # cumulative failure probability above which a plan is `risk_too_high`
CHEAPEST_MODEL = min(PRICES_CENTS_PER_1K, key=lambda m: sum(PRICES_CENTS_PER_1K[m]))


def _r(value: float, places: int = 6) -> float:
    return round(float(value), places) + 0.0  # + 0.0 turns -0.0 into 0.0


def _attempts(step: dict[str, Any]) -> int:
    skill = REGISTRY.get(step.get("skill", ""))
    attempts = int((step.get("retry") or {}).get("max_attempts", 1))
    if isinstance(skill, HttpCall):
        attempts *= skill.internal_attempts(step.get("params") or {})
    return attempts


def _failure_probability(call: dict[str, Any]) -> float:
    skill = REGISTRY.get(call.get("skill", ""))
    if skill is None:
        return 1.0
    survive = 1.0
    for mode in skill.failure_modes(call.get("params") or {}):
        survive *= 1 - mode.probability
    return 1 - survive


def _risks(index: int, step: dict[str, Any]) -> list[dict[str, Any]]:
    skill = REGISTRY[step["skill"]]
    attempts = _attempts(step)
    fallback_p = _failure_probability(step["fallback"]) if step.get("fallback") else 1.0
    risks = []
    for mode in skill.failure_modes(step.get("params") or {}):
        p = mode.probability**attempts if mode.transient else mode.probability
        mitigation = mode.mitigation
        if step.get("fallback"):
            p *= fallback_p  # both the skill and its fallback must fail
            mitigation = f"Fallback to {step['fallback'].get('skill')} is configured. {mitigation}"
        if p > 0:
            risks.append(
                {
                    "step_index": index,
                    "skill_id": skill.id,
                    "risk_type": mode.code,
                    "probability": _r(p),
                    "mitigation": mitigation,
                }
            )
    return risks


URL_SKILLS = frozenset({"http_call", "webhook_send"})


def _destination_gaps(index: int, step: dict[str, Any], allow: egress.AllowList) -> list[dict[str, Any]]:
    """Refused destinations of the step and its fallback (a `{{ }}` URL is only known at run time)."""
    gaps = []
    for call in (step, step.get("fallback") or {}):
        url = (call.get("params") or {}).get("url")
        if call.get("skill") in URL_SKILLS and isinstance(url, str) and not is_reference(url):
            if reason := egress.static_refusal(url, allow):
                reason = f"destination refused: {reason}"
                gaps.append({"step_index": index, "skill_id": call["skill"], "reason": reason})
    return gaps


def _alternatives(index: int, step: dict[str, Any], *, over_budget: bool, risky: bool) -> list[dict[str, Any]]:
    skill_id = step.get("skill", "")
    params = step.get("params") or {}
    skill = REGISTRY.get(skill_id)
    out = []
    if skill is None:
        close = difflib.get_close_matches(skill_id, sorted(REGISTRY), n=1)
        if close:
            out.append({"step_index": index, "skill_id": skill_id, "suggestion": f"use skill {close[0]!r}"})
        return out
    if over_budget and skill_id == "llm_invoke" and params.get("model", DEFAULT_MODEL) != CHEAPEST_MODEL:
        cheaper = skill.estimate_cost_cents({**params, "model": CHEAPEST_MODEL})
        out.append(
            {
                "step_index": index,
                "skill_id": skill_id,
                "suggestion": f"use model {CHEAPEST_MODEL!r}",
                "estimated_cost_cents": _r(cheaper),
            }
        )
    if risky and skill.external and "retry" not in step and not skill.side_effects(params):
        out.append(
            {"step_index": index, "skill_id": skill_id, "suggestion": "add retry {max_attempts: 3, backoff_ms: 500}"}
        )
    return out


def _warnings(index: int, step: dict[str, Any], allowed: set[str] | None) -> list[str]:
    skill_id = step.get("skill", "")
    skill = REGISTRY.get(skill_id)
    if skill is None:
        return [f"step {index}: unknown skill {skill_id!r}"]
    params = step.get("params") or {}
    out = []
    if allowed is not None and skill_id not in allowed:
        out.append(f"step {index}: skill {skill_id!r} is not allowed for this tenant")
    if skill.side_effects(params):
        behaviour = step.get("replay") or "skip"
        out.append(f"step {index}: {skill_id} has side effects; replay behaviour {behaviour!r}")
    if skill_id == "llm_invoke" and params.get("provider", "local") != "local":
        out.append(f"step {index}: provider {params.get('provider')!r} is non-deterministic; replay serves it")
    fallback = step.get("fallback")
    if fallback and fallback.get("skill") == skill_id:
        out.append(f"step {index}: fallback uses the same skill as the step")
    return out


def simulate(
    plan: list[dict[str, Any]],
    *,
    budget_cents: float,
    seed: int,
    allowed_skills: list[str] | None,
    allowed_hosts: list[str] | tuple[str, ...] = (),
) -> dict[str, Any]:
    """The §4 simulate body for a validated plan (unknown skills allowed: reported, not refused).

    `allowed_hosts` is `HTTP_CALL_ALLOWED_HOSTS` (names, addresses, CIDRs).
    """
    allowed = set(allowed_skills) if allowed_skills else None
    allow = egress.AllowList.parse(allowed_hosts)
    estimates, risks, gaps, warnings = [], [], [], []
    unknown = False
    for index, step in enumerate(plan):
        skill = REGISTRY.get(step["skill"])
        params = step.get("params") or {}
        cost = skill.estimate_cost_cents(params) if skill else 0.0
        latency = skill.estimate_latency_ms(params) if skill else 0.0
        estimates.append(
            {
                "step_index": index,
                "skill_id": step["skill"],
                "estimated_cost_cents": _r(cost),
                "estimated_latency_ms": _r(latency, 3),
            }
        )
        unknown = unknown or skill is None
        if skill is not None:
            risks.extend(_risks(index, step))
            if allowed is not None and skill.id not in allowed:
                gaps.append({"step_index": index, "skill_id": skill.id, "reason": "skill not allowed for tenant"})
        gaps.extend(_destination_gaps(index, step, allow))
        warnings.extend(_warnings(index, step, allowed))

    total_cost = _r(sum(e["estimated_cost_cents"] for e in estimates))
    total_latency = _r(sum(e["estimated_latency_ms"] for e in estimates), 3)
    survive = 1.0
    for risk in risks:
        survive *= 1 - risk["probability"]
    cumulative = _r(1 - survive)
    remaining = _r(budget_cents - total_cost)
    sufficient = remaining >= 0
    if unknown:
        status = "skill_unavailable"
    elif gaps:
        status = "permission_denied"
    elif not sufficient:
        status = "budget_insufficient"
    elif cumulative > RISK_THRESHOLD:
        status = "risk_too_high"
    else:
        status = "feasible"
    alternatives = [
        alt
        for index, step in enumerate(plan)
        for alt in _alternatives(index, step, over_budget=not sufficient, risky=cumulative > 0)
    ]
    return {
        "feasible": status == "feasible",
        "status": status,
        "estimated_cost_cents": total_cost,
        "estimated_duration_ms": total_latency,
        "budget_remaining_cents": remaining,
        "budget_sufficient": sufficient,
        "cumulative_risk": cumulative,
        "permission_gaps": gaps,
        "risks": risks,
        "step_estimates": estimates,
        "alternatives": alternatives,
        "warnings": warnings,
        "seed": seed,
        "trace_id": None,
        "root_hash": None,
    }
