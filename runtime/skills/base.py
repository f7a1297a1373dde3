"""What every skill declares and how it fails (PRODUCT.md §4). Skills are pure descriptions plus
one `execute`; the engine owns retries across attempts, fallbacks, budgets and hashing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from runtime.caps import Caps


class SkillError(Exception):
    """A failed skill call: `code` is stored on the step; `retryable` says whether a retry can help."""

    def __init__(self, code: str, message: str, *, retryable: bool = False, output: Any = None, retries: int = 0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.output = output  # e.g. the HTTP response of a 4xx, kept on the failed step
        self.retries = retries  # attempts the skill itself already retried


@dataclass(frozen=True)
class FailureMode:
    code: str
    probability: float
    mitigation: str
    transient: bool = False  # transient failures become rarer with every retry attempt


@dataclass(frozen=True)
class ExecContext:
    """What a skill may know about the run: deterministic inputs, plus the limits it runs under.

    `deadline` is the run's deadline on the `time.monotonic()` clock (None: no deadline): a skill
    that waits (timeouts, retry backoff) never waits past it. `caps` bounds what it builds.
    """

    seed: int
    timestamp: str
    step_index: int
    deadline: float | None = None
    caps: Caps = field(default_factory=Caps)


@dataclass
class SkillResult:
    output: Any
    cost_cents: float = 0.0
    retries: int = 0


class Skill:
    id: ClassVar[str]
    version: ClassVar[str] = "1.0.0"
    description: ClassVar[str] = ""
    params_schema: ClassVar[dict[str, Any]] = {}
    constraints: ClassVar[list[str]] = []
    external: ClassVar[bool] = False  # talks to the outside world (replay skips it in recorded mode)
    failure_modes_: ClassVar[tuple[FailureMode, ...]] = ()
    base_latency_ms: ClassVar[float] = 1.0
    base_cost_cents: ClassVar[float] = 0.0

    # --- declared models (params may still hold unresolved `{{ }}` strings at simulate time) ---
    def side_effects(self, params: dict[str, Any] | None = None) -> bool:
        return False

    def default_replay(self, params: dict[str, Any] | None = None) -> str:
        return "skip" if (self.side_effects(params) or self.external) else "check"

    def estimate_cost_cents(self, params: dict[str, Any]) -> float:
        return self.base_cost_cents

    def estimate_latency_ms(self, params: dict[str, Any]) -> float:
        return self.base_latency_ms

    def failure_modes(self, params: dict[str, Any]) -> tuple[FailureMode, ...]:
        return self.failure_modes_

    def expressions(self, params: dict[str, Any]) -> dict[str, Any]:
        """The JMESPath expressions among the params, as {field: expression} (capped like references)."""
        return {}

    def check_params(self, params: dict[str, Any]) -> dict[str, str]:
        """Checks beyond the JSON schema, as {field: message}; unresolved references are skipped."""
        return {}

    def execute(self, params: dict[str, Any], ctx: ExecContext) -> SkillResult:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "description": self.description,
            "params_schema": self.params_schema,
            "cost_model": {"base_cents": self.base_cost_cents, "notes": self.cost_notes()},
            "latency_model": {"base_ms": self.base_latency_ms, "notes": self.latency_notes()},
            "failure_modes": [asdict(m) for m in self.failure_modes_],
            "constraints": list(self.constraints),
            "side_effects": self.side_effects(None),
            "external": self.external,
            "default_replay": self.default_replay(None),
        }

    def cost_notes(self) -> str:
        return "flat per call"

    def latency_notes(self) -> str:
        return "flat per call"


def is_reference(value: Any) -> bool:
    """True for a string holding a `{{ }}` reference (its final value is only known at run time)."""
    return isinstance(value, str) and "{{" in value and "}}" in value
