"""`json_transform`: reshape JSON with a JMESPath `query`, or a `mapping` of keys to expressions
with `defaults` for missing values. Pure: replays re-execute and compare it."""

from __future__ import annotations

from typing import Any

from jmespath.exceptions import JMESPathError

from runtime.caps import CapExceeded, expression_search, json_size
from runtime.skills.base import ExecContext, FailureMode, Skill, SkillError, SkillResult


class JsonTransform(Skill):
    id = "json_transform"
    version = "1.0.0"
    description = "Transform a JSON payload with a JMESPath query, or map keys to JMESPath expressions."
    params_schema = {
        "type": "object",
        "properties": {
            "payload": {"description": "Any JSON value to transform."},
            # `format: jmespath` is an annotation (validators ignore it); plan validation compiles them (runtime.caps).
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

    def expressions(self, params: dict[str, Any]) -> dict[str, Any]:
        expressions = {"query": params.get("query")} if "query" in params else {}
        mapping = params.get("mapping")
        for key, expr in (mapping if isinstance(mapping, dict) else {}).items():
            expressions[f"mapping.{key}"] = expr
        return expressions

    def execute(self, params: dict[str, Any], ctx: ExecContext) -> SkillResult:
        """Evaluation is bounded while it builds the output (runtime.caps), not checked after."""
        payload = params["payload"]
        caps = ctx.caps
        try:
            if "query" in params:
                output = expression_search(params["query"], payload, caps)
            else:
                defaults = params.get("defaults") or {}
                output = {}
                for key in sorted(params["mapping"]):
                    value = expression_search(params["mapping"][key], payload, caps)
                    output[key] = defaults.get(key) if value is None else value
                for key in sorted(set(defaults) - set(output)):
                    output[key] = defaults[key]
            json_size(output, limit=caps.max_output_bytes)
        except CapExceeded as exc:
            raise SkillError(exc.code, exc.message)
        except JMESPathError as exc:
            raise SkillError("ERR_TRANSFORM", str(exc))
        return SkillResult(output=output)

    def cost_notes(self) -> str:
        return "free (runs in process)"
