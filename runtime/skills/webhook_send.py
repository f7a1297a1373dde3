"""`webhook_send`: a Slack-compatible incoming-webhook POST (`text`, optional `blocks`...).

Side-effecting: replays never resend it unless a step explicitly says `replay: execute`.
"""

from __future__ import annotations

from typing import Any

from runtime.skills import _http
from runtime.skills.base import ExecContext, FailureMode, Skill, SkillResult

MESSAGE_FIELDS = ("text", "blocks", "attachments", "username", "icon_emoji", "channel")


class WebhookSend(Skill):
    id = "webhook_send"
    version = "1.0.0"
    description = "POST a Slack-compatible JSON message to an incoming-webhook URL."
    params_schema = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "pattern": "^https?://", "maxLength": 2048},
            "text": {"type": "string", "minLength": 1, "maxLength": 40000},
            "blocks": {"type": "array", "items": {"type": "object"}},
            "attachments": {"type": "array", "items": {"type": "object"}},
            "username": {"type": "string"},
            "icon_emoji": {"type": "string"},
            "channel": {"type": "string"},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 30},
        },
        "required": ["url", "text"],
        "additionalProperties": False,
    }
    constraints = ["Slack incoming-webhook payload", "not retried (a retry could post twice)"]
    external = True
    failure_modes_ = (
        FailureMode("ERR_HTTP_STATUS", 0.02, "Check the webhook URL; add a fallback channel."),
        FailureMode("ERR_TIMEOUT", 0.01, "Add a step retry policy if a duplicate message is acceptable.", True),
    )
    base_latency_ms = 150.0
    base_cost_cents = 0.01

    def side_effects(self, params: dict[str, Any] | None = None) -> bool:
        return True

    def execute(self, params: dict[str, Any], ctx: ExecContext) -> SkillResult:
        message = {k: params[k] for k in MESSAGE_FIELDS if k in params}
        result = _http.send(
            method="POST",
            url=params["url"],
            headers={"Content-Type": "application/json"},
            json_body=message,
            has_body=True,
            timeout_s=float(params.get("timeout", 10)),
            retries=0,
            backoff_ms=0,
            deadline=getattr(ctx, "deadline", None),
        )
        return SkillResult(
            output={"status_code": result.status_code, "body": result.body}, cost_cents=self.base_cost_cents
        )
