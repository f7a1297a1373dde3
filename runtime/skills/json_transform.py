"""`json_transform`: reshape JSON with a JMESPath `query`, or a `mapping` of keys to expressions
with `defaults` for missing values. Pure: replays re-execute and compare it."""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from runtime.skills.base import ExecContext, FailureMode, Skill, SkillError, SkillResult, is_reference


class JsonTransform(Skill):
    id = "json_transform"
    version = "1.0.0"
    description = "Transform a JSON payload with a JMESPath query, or map keys to JMESPath expressions."
    params_schema = {
        "type": "object",
        "properties": {
            "payload": {"description": "Any JSON value to transform."},
            # `format: jmespath` is an annotation (validators ignore it); check_params compiles them.
            "query": {"type": "string", "minLength": 1, "format": "jmespath"},
            "mapping": {
                "type": "object",
                "additionalProperties": {"type": "string", "minLength": 1, "format": "jmespath"},
            },
            "defaults": {"type": "object"},
        },
        "required": ["payload"],
        "additionalProperties": False,
        "oneOf": [{"required": ["query"]}, {"required": ["mapping"]}],
    }
    constraints = ["exactly one of query or mapping", "pure: no I/O"]
    failure_modes_ = (FailureMode("ERR_TRANSFORM", 0.001, "Validate the payload shape with an earlier step."),)
    base_latency_ms = 1.0

    def check_params(self, params: dict[str, Any]) -> dict[str, str]:
        problems = {}
        expressions = {"query": params.get("query")} if "query" in params else {}
        for key, expr in (params.get("mapping") or {}).items():
            expressions[f"mapping.{key}"] = expr
        for name, expr in expressions.items():
            if isinstance(expr, str) and not is_reference(expr):
                try:
                    jmespath.compile(expr)
                except JMESPathError as exc:
                    problems[name] = f"Invalid JMESPath expression: {exc}"
        return problems

    def execute(self, params: dict[str, Any], ctx: ExecContext) -> SkillResult:
        payload = params["payload"]
        try:
            if "query" in params:
                return SkillResult(output=jmespath.search(params["query"], payload))
            defaults = params.get("defaults") or {}
            output = {}
            for key in sorted(params["mapping"]):
                value = jmespath.search(params["mapping"][key], payload)
                output[key] = defaults.get(key) if value is None else value
            for key in sorted(set(defaults) - set(output)):
                output[key] = defaults[key]
            return SkillResult(output=output)
        except JMESPathError as exc:
            raise SkillError("ERR_TRANSFORM", str(exc))

    def cost_notes(self) -> str:
        return "free (runs in process)"
