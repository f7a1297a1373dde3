"""The skill registry: one module per skill, looked up by id."""

from __future__ import annotations

from runtime.skills.base import ExecContext, FailureMode, Skill, SkillError, SkillResult
from runtime.skills.http_call import HttpCall
from runtime.skills.json_transform import JsonTransform
from runtime.skills.llm_invoke import LlmInvoke
from runtime.skills.webhook_send import WebhookSend

REGISTRY: dict[str, Skill] = {skill.id: skill for skill in (JsonTransform(), HttpCall(), LlmInvoke(), WebhookSend())}


def skill_get(skill_id: str) -> Skill | None:
    return REGISTRY.get(skill_id)


def skill_ids() -> list[str]:
    return sorted(REGISTRY)


__all__ = ["REGISTRY", "ExecContext", "FailureMode", "Skill", "SkillError", "SkillResult", "skill_get", "skill_ids"]
