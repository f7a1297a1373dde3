"""`llm_invoke`: chat-style model call. Providers are pluggable; `local` is deterministic.

The `local` provider derives its reply from H(messages, model, seed, max_tokens), counts tokens
with a simple word/punctuation tokenizer, and prices them from `PRICES_CENTS_PER_1K`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aos_sdk.hashing import H
from runtime.skills.base import ExecContext, FailureMode, Skill, SkillError, SkillResult, is_reference

# cents per 1,000 tokens: (prompt, completion). Unknown models are refused at validation time.
PRICES_CENTS_PER_1K: dict[str, tuple[float, float]] = {
    "local-small": (0.01, 0.02),
    "local-large": (0.1, 0.2),
    "gpt-4o-mini": (0.015, 0.06),
    "gpt-4o": (0.25, 1.0),
    "claude-3-5-haiku": (0.08, 0.4),
    "claude-3-5-sonnet": (0.3, 1.5),
}
DEFAULT_MODEL = "local-small"
DEFAULT_MAX_TOKENS = 256
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_VOCAB = (
    "agent plan step trace replay hash budget skill output input result value signal "
    "stable deterministic verified summary price market report alert check ready done"
).split()


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    # 4 tokens of framing per message, as chat formats do.
    return sum(4 + count_tokens(str(m.get("content", ""))) for m in messages)


def cost_cents(model: str, prompt: int, completion: int) -> float:
    p_in, p_out = PRICES_CENTS_PER_1K[model]
    return round((prompt * p_in + completion * p_out) / 1000.0, 6)


def _local_reply(params: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    digest = H({"messages": params["messages"], "model": params.get("model", DEFAULT_MODEL), "seed": ctx.seed})
    max_tokens = params.get("max_tokens", DEFAULT_MAX_TOKENS)
    length = min(max_tokens, 8 + int(digest[:4], 16) % 24)
    words = [_VOCAB[int(digest[(i * 2) % 60 : (i * 2) % 60 + 2], 16) % len(_VOCAB)] for i in range(length)]
    content = " ".join(words)
    completion = count_tokens(content)
    prompt = prompt_tokens(params["messages"])
    return {
        "content": content,
        "finish_reason": "length" if length == max_tokens else "stop",
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


# provider id → function(params, ctx) → {"content", "finish_reason", "usage"}
PROVIDERS: dict[str, Callable[[dict[str, Any], ExecContext], dict[str, Any]]] = {"local": _local_reply}


class LlmInvoke(Skill):
    id = "llm_invoke"
    version = "1.0.0"
    description = "Invoke a chat model. Provider `local` is deterministic (derived from a hash of the messages)."
    params_schema = {
        "type": "object",
        "properties": {
            "provider": {"type": "string", "minLength": 1},
            "model": {"type": "string", "enum": sorted(PRICES_CENTS_PER_1K)},
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "role": {"type": "string", "enum": ["system", "user", "assistant"]},
                        "content": {"type": "string"},
                    },
                    "required": ["role", "content"],
                    "additionalProperties": False,
                },
            },
            "max_tokens": {"type": "integer", "minimum": 1, "maximum": 4096},
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        },
        "required": ["messages"],
        "additionalProperties": False,
    }
    constraints = ["max_tokens ≤ 4096", "models priced in the price table only"]
    failure_modes_ = (
        FailureMode("ERR_PROVIDER_RATE_LIMITED", 0.02, "Retry with backoff; fall back to a local model.", True),
        FailureMode("ERR_PROVIDER_ERROR", 0.01, "Retry; add a fallback skill.", True),
    )
    base_latency_ms = 50.0

    def external_provider(self, params: dict[str, Any]) -> bool:
        return params.get("provider", "local") != "local"

    def default_replay(self, params: dict[str, Any] | None = None) -> str:
        # A local model is a pure function of its input; a hosted model is an external call.
        return "skip" if params is not None and self.external_provider(params) else "check"

    def failure_modes(self, params: dict[str, Any]) -> tuple[FailureMode, ...]:
        return self.failure_modes_ if self.external_provider(params) else ()

    def check_params(self, params: dict[str, Any]) -> dict[str, str]:
        provider = params.get("provider", "local")
        if isinstance(provider, str) and not is_reference(provider) and provider not in PROVIDERS:
            return {"provider": f"Unknown provider {provider!r}; available: {', '.join(sorted(PROVIDERS))}."}
        return {}

    def estimate_cost_cents(self, params: dict[str, Any]) -> float:
        """Upper bound: the prompt as given plus max_tokens of completion."""
        model = params.get("model", DEFAULT_MODEL)
        model = model if model in PRICES_CENTS_PER_1K else DEFAULT_MODEL
        messages = params.get("messages")
        prompt = prompt_tokens(messages) if isinstance(messages, list) else 256
        max_tokens = params.get("max_tokens", DEFAULT_MAX_TOKENS)
        return cost_cents(model, prompt, max_tokens if isinstance(max_tokens, int) else DEFAULT_MAX_TOKENS)

    def estimate_latency_ms(self, params: dict[str, Any]) -> float:
        max_tokens = params.get("max_tokens", DEFAULT_MAX_TOKENS)
        per_token = 0.05 if not self.external_provider(params) else 20.0
        return round(self.base_latency_ms + per_token * (max_tokens if isinstance(max_tokens, int) else 256), 3)

    def execute(self, params: dict[str, Any], ctx: ExecContext) -> SkillResult:
        provider = params.get("provider", "local")
        if provider not in PROVIDERS:
            raise SkillError("ERR_PROVIDER_UNAVAILABLE", f"Provider {provider!r} is not configured.")
        model = params.get("model", DEFAULT_MODEL)
        reply = PROVIDERS[provider](params, ctx)
        usage = reply["usage"]
        output = {"provider": provider, "model": model, **reply}
        cost = cost_cents(model, usage["prompt_tokens"], usage["completion_tokens"])
        return SkillResult(output=output, cost_cents=cost)

    def cost_notes(self) -> str:
        return "tokens × per-model price (cents per 1K tokens): " + ", ".join(
            f"{m} {p[0]}/{p[1]}" for m, p in sorted(PRICES_CENTS_PER_1K.items())
        )

    def latency_notes(self) -> str:
        return "50 ms + per completion token (0.05 ms local, 20 ms hosted)"
