"""`http_call`: one HTTP request with timeout and retries (5xx/transport errors only).

External: replays serve its recorded response in `recorded` mode. GET/HEAD/OPTIONS are not
side-effecting; other methods are, so replays never resend them unless a step says `execute`.
"""

from __future__ import annotations

from typing import Any

from runtime.skills import _http
from runtime.skills.base import ExecContext, FailureMode, Skill, SkillResult

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class HttpCall(Skill):
    id = "http_call"
    version = "1.0.0"
    description = "Call an HTTP endpoint (JSON in and out) with timeout and retries on 5xx/transport errors."
    params_schema = {
        "type": "object",
        "properties": {
            "method": {"type": "string", "enum": ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]},
            "url": {"type": "string", "pattern": "^https?://", "maxLength": 2048},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "json": {"description": "JSON request body."},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "description": "Seconds."},
            "retries": {"type": "integer", "minimum": 0, "maximum": 5},
            "backoff_ms": {"type": "integer", "minimum": 0, "maximum": 10000},
        },
        "required": ["url"],
        "additionalProperties": False,
    }
    constraints = [
        "http(s) only; destinations that are not globally routable refused unless in HTTP_CALL_ALLOWED_HOSTS",
        "no backslashes, userinfo or whitespace in the URL; connects only to the address it checked",
        "redirects are not followed",
        "timeout at most 60 s, retries at most 5",
    ]
    external = True
    failure_modes_ = (
        FailureMode("ERR_TIMEOUT", 0.02, "Retry with backoff; raise the timeout.", transient=True),
        FailureMode("ERR_HTTP_STATUS_5XX", 0.03, "Retry with backoff; add a fallback step.", transient=True),
        FailureMode("ERR_HTTP_STATUS_4XX", 0.01, "Check the URL and payload (not retried)."),
    )
    base_latency_ms = 250.0
    base_cost_cents = 0.01

    def side_effects(self, params: dict[str, Any] | None = None) -> bool:
        if params is None:
            return True  # depends on the method; the conservative answer for the registry listing
        return str(params.get("method", "GET")).upper() not in SAFE_METHODS

    def internal_attempts(self, params: dict[str, Any]) -> int:
        retries = params.get("retries", 2)
        return 1 + (retries if isinstance(retries, int) else 2)

    def execute(self, params: dict[str, Any], ctx: ExecContext) -> SkillResult:
        result = _http.send(
            method=str(params.get("method", "GET")).upper(),
            url=params["url"],
            headers=params.get("headers"),
            json_body=params.get("json"),
            has_body="json" in params,
            timeout_s=float(params.get("timeout", 10)),
            retries=int(params.get("retries", 2)),
            backoff_ms=int(params.get("backoff_ms", 200)),
            deadline=getattr(ctx, "deadline", None),  # set by the engine once runs have deadlines
        )
        output = {"status_code": result.status_code, "body": result.body}
        return SkillResult(output=output, cost_cents=self.base_cost_cents, retries=result.retries)

    def latency_notes(self) -> str:
        return "250 ms typical; worst case timeout × (retries + 1) plus backoff"
