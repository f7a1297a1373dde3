"""Plan validation and `{{ expr }}` references (PRODUCT.md §4). Pure: no database, no I/O.

Errors name the step and field the way a caller would write them: `plan[2].params.url`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from jmespath.exceptions import JMESPathError
from jsonschema import Draft202012Validator

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - a requirement; without it every check is the full one
    jsonschema_rs = None  # type: ignore[assignment]

from aosproject.plurals import counted
from runtime.caps import Caps, expression_compile, expression_problem, expression_search
from runtime.skills import REGISTRY, Skill
from vault.references import name_problem, secret_name

STEP_KEYS = {"skill", "params", "replay", "retry", "on_error", "fallback"}
REPLAY_CHOICES = ("check", "execute", "skip")
ON_ERROR_CHOICES = ("abort", "continue")
MAX_RETRY_ATTEMPTS = 10
MAX_BACKOFF_MS = 60_000
_ROOTS = {"input", "steps"}


class PlanInvalid(Exception):
    """Bad plan: `fields` maps `plan[i].field` paths to messages."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields
        first_field, messages = next(iter(fields.items()))
        self.message = f"{first_field}: {messages[0]}"
        super().__init__(self.message)


# --- references ----------------------------------------------------------------------------


def _spans(value: str):
    r"""Yields (start, end, expr) for each `{{ expr }}` in `value`, left to right, in linear time.

    The same matches as the lazy regex `\{\{\s*(.+?)\s*\}\}` (DOTALL), but with str.find: that regex
    rescans to the end of the string from every `{{` that no `}}` closes, and its `\s*` rescans a
    whitespace run at every position (quadratic: `'{{' * 16000` took 18 s). Once no `}}` is left
    after an opening, no later opening can close either.
    """
    start = 0
    while (opening := value.find("{{", start)) != -1:
        closing = value.find("}}", opening + 3)  # `.+?`: at least one character inside
        if closing == -1:
            return
        inner = value[opening + 2 : closing]
        yield opening, closing + 2, inner.strip() or inner[-1:]
        start = closing + 2


def _whole(value: str) -> str | None:
    """The expression when `value` is exactly one `{{ expr }}` (a trailing newline allowed, as `$` does)."""
    text = value[:-1] if value.endswith("\n") else value
    if len(text) < 5 or not text.startswith("{{") or not text.endswith("}}"):
        return None
    inner = text[2:-2]  # `{{ a }} {{ b }}` gives `a }} {{ b`, which the caller treats as text
    return inner.strip() or inner[-1:]


def _substitute(value: str, replace: Callable[[str, str], str]) -> str:
    parts, last = [], 0
    for start, end, expr in _spans(value):
        parts.append(value[last:start])
        parts.append(replace(expr, value[start:end]))
        last = end
    parts.append(value[last:])
    return "".join(parts)


DEFAULT_CAPS = Caps()


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _evaluate(expr: str, text: str, context: dict[str, Any], secret: Callable[[str], str] | None, caps: Caps) -> Any:
    name = secret_name(expr)
    if name is None:
        return expression_search(expr, context, caps)
    # `{{ secrets.NAME }}` is never a JMESPath expression: kept as written unless `secret` supplies the value.
    return text if secret is None else secret(name)


def resolve(
    value: Any, context: dict[str, Any], secret: Callable[[str], str] | None = None, caps: Caps = DEFAULT_CAPS
) -> Any:
    """Substitutes `{{ expr }}` in strings (whole string → typed value; inside text → its text).

    Secret references stay as written (what hashes cover) unless `secret(name)` is given: only the
    params handed to the skill are resolved with it, and only where the plan itself wrote them.
    Evaluation is bounded by `caps` (raises runtime.caps.CapExceeded or JMESPathError).
    """
    if isinstance(value, str):
        whole = _whole(value)
        if whole is not None and "{{" not in whole:
            return _evaluate(whole, value, context, secret, caps)
        if "{{" in value:
            return _substitute(value, lambda expr, text: _text(_evaluate(expr, text, context, secret, caps)))
        return value
    if isinstance(value, dict):
        return {k: resolve(v, context, secret, caps) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, context, secret, caps) for v in value]
    return value


def _expressions(value: Any, path: str):
    """Yields (field path, expression) for every reference inside a params value."""
    if isinstance(value, str):
        for _start, _end, expr in _spans(value):
            yield path, expr
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _expressions(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _expressions(v, f"{path}[{i}]")


def _walk(node: dict[str, Any]):
    yield node
    for child in node.get("children", []):
        if isinstance(child, dict):
            yield from _walk(child)


def _leftmost_field(node: dict[str, Any]) -> str | None:
    while node.get("type") in {"subexpression", "index_expression", "projection", "flatten", "filter_projection"}:
        node = node["children"][0]
    return node.get("value") if node.get("type") == "field" else None


def reference_problems(expr: str, step_index: int, caps: Caps = DEFAULT_CAPS) -> str | None:
    """Why `expr` cannot be evaluated for step `step_index`, or None."""
    name = secret_name(expr)
    if name is not None:
        return name_problem(name)
    try:
        ast = expression_compile(expr, caps).parsed
    except JMESPathError as exc:
        return f"Invalid reference expression {expr[:80]!r}: {exc}"
    root = _leftmost_field(ast)
    if root is not None and root not in _ROOTS:
        return f"Reference {expr!r} must start with `input` or `steps` (or be `secrets.NAME`)."
    for node in _walk(ast):
        children = node.get("children", [])
        if (
            node.get("type") == "index_expression"
            and len(children) == 2
            and children[0].get("type") == "field"
            and children[0].get("value") == "steps"
            and children[1].get("type") == "index"
        ):
            target = children[1]["value"]
            absolute = target if target >= 0 else step_index + target
            if absolute < 0 or absolute >= step_index:
                return (
                    f"Reference {expr!r} points at step {target}, which does not exist before step {step_index} "
                    f"(only steps 0..{step_index - 1} can be referenced)."
                    if step_index
                    else f"Reference {expr!r} points at step {target}, but step 0 has no earlier steps."
                )
    return None


def _reference_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths (as jsonschema `absolute_path` tuples) of strings that hold references."""
    if isinstance(value, str):
        return [path] if "{{" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _reference_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _reference_paths(v, (*path, i))]
    return []


def has_reference(value: Any) -> bool:
    return bool(_reference_paths(value))


# --- params ------------------------------------------------------------------------------


@cache
def _validator(skill_id: str) -> Draft202012Validator:
    return Draft202012Validator(REGISTRY[skill_id].params_schema)


@cache
def _fast_validator(skill_id: str) -> Any:
    """The same schema compiled by jsonschema-rs: a yes/no answer in about a microsecond (decision 0067)."""
    if jsonschema_rs is None:
        return None
    return jsonschema_rs.Draft202012Validator(REGISTRY[skill_id].params_schema, validate_formats=False)


def schema_valid_fast(skill_id: str, params: Any) -> bool:
    """True only when the params certainly satisfy the skill's schema; False means "look closer"."""
    validator = _fast_validator(skill_id)
    if validator is None:
        return False
    try:
        return bool(validator.is_valid(params))
    except Exception:  # a value it cannot take (an integer past 64 bits): the full check decides
        return False


def _field(prefix: str, path) -> str:
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def params_problems(skill: Skill, params: dict[str, Any], prefix: str) -> dict[str, list[str]]:
    """Schema and skill-specific problems, skipping values that are still references."""
    problems: dict[str, list[str]] = {}
    references = _reference_paths(params)
    # Valid params (the common case) skip jsonschema's error walk; its messages are only for the others.
    errors = () if schema_valid_fast(skill.id, params) else _validator(skill.id).iter_errors(params)
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        if any(path[: len(ref)] == ref for ref in references):
            continue  # the value is only known at run time; checked again after resolution
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [p for p in error.validator_value if p not in error.instance]
            path = (*path, missing[0]) if missing else path
        if error.validator == "oneOf" and references:
            continue
        problems.setdefault(_field(prefix, path), []).append(error.message)
    for name, message in skill.check_params(params).items():
        problems.setdefault(f"{prefix}.{name}", []).append(message)
    return problems


def runtime_params_problem(skill: Skill, params: Any) -> str | None:
    """After references are resolved: the first schema problem, or None."""
    if not isinstance(params, dict):
        return "params must be an object"
    problems = params_problems(skill, params, "params")
    if problems:
        field, messages = next(iter(problems.items()))
        return f"{field}: {messages[0]}"
    return None


# --- plans -------------------------------------------------------------------------------


def expression_problems(skill: Skill, params: dict[str, Any], prefix: str, caps: Caps) -> dict[str, list[str]]:
    """Syntax and complexity problems of the JMESPath expressions a skill takes as params."""
    problems: dict[str, list[str]] = {}
    for name, expr in skill.expressions(params).items():
        if isinstance(expr, str) and "{{" not in expr:
            problem = expression_problem(expr, caps)
            if problem:
                problems[f"{prefix}.{name}"] = [problem]
    return problems


def _call_problems(
    call: Any, index: int, prefix: str, *, allow_unknown: bool, caps: Caps = DEFAULT_CAPS
) -> dict[str, list[str]]:
    """Checks a `{skill, params}` pair (a step or its fallback)."""
    problems: dict[str, list[str]] = {}
    skill_id = call.get("skill")
    if not isinstance(skill_id, str) or not skill_id:
        return {f"{prefix}.skill": ["A skill id (string) is required."]}
    params = call.get("params", {})
    if not isinstance(params, dict):
        return {f"{prefix}.params": ["params must be an object."]}
    for field, expr in _expressions(params, f"{prefix}.params"):
        problem = reference_problems(expr, index, caps)
        if problem:
            problems.setdefault(field, []).append(problem)
    skill = REGISTRY.get(skill_id)
    if skill is None:
        if not allow_unknown:
            problems.setdefault(f"{prefix}.skill", []).append(
                f"Unknown skill {skill_id!r}; available: {', '.join(sorted(REGISTRY))}."
            )
        return problems
    for field, messages in expression_problems(skill, params, f"{prefix}.params", caps).items():
        problems.setdefault(field, []).extend(messages)
    if any(f.startswith(f"{prefix}.params") for f in problems):
        return problems  # an unusable expression is not evaluated again by the schema checks
    for field, messages in params_problems(skill, params, f"{prefix}.params").items():
        problems.setdefault(field, []).extend(messages)
    return problems


def _policy_problems(step: dict[str, Any], prefix: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if "replay" in step and step["replay"] not in REPLAY_CHOICES:
        problems[f"{prefix}.replay"] = [f"Must be one of {', '.join(REPLAY_CHOICES)}."]
    if "on_error" in step and step["on_error"] not in ON_ERROR_CHOICES:
        problems[f"{prefix}.on_error"] = [f"Must be one of {', '.join(ON_ERROR_CHOICES)}."]
    if "retry" in step:
        retry = step["retry"]
        if not isinstance(retry, dict) or set(retry) - {"max_attempts", "backoff_ms"}:
            problems[f"{prefix}.retry"] = ["Must be an object with max_attempts and/or backoff_ms."]
        else:
            for name, top in (("max_attempts", MAX_RETRY_ATTEMPTS), ("backoff_ms", MAX_BACKOFF_MS)):
                value = retry.get(name)
                low = 1 if name == "max_attempts" else 0
                if name in retry and (type(value) is not int or not low <= value <= top):
                    problems[f"{prefix}.retry.{name}"] = [f"Must be an integer from {low} to {top}."]
    return problems


def plan_validate(plan: Any, *, max_steps: int, allow_unknown_skills: bool = False, caps: Caps = DEFAULT_CAPS) -> None:
    """Raises PlanInvalid naming the step and field of every problem found."""
    if not isinstance(plan, list) or not plan:
        raise PlanInvalid({"plan": ["A plan is a non-empty list of steps."]})
    if len(plan) > max_steps:
        raise PlanInvalid(
            {"plan": [f"A plan may have at most {counted(max_steps, 'step')}; this one has {len(plan)}."]}
        )
    problems: dict[str, list[str]] = {}
    for index, step in enumerate(plan):
        prefix = f"plan[{index}]"
        if not isinstance(step, dict):
            problems[prefix] = ["A step is an object with at least `skill`."]
            continue
        for key in sorted(set(step) - STEP_KEYS):
            problems[f"{prefix}.{key}"] = ["Unknown field."]
        problems.update(_call_problems(step, index, prefix, allow_unknown=allow_unknown_skills, caps=caps))
        problems.update(_policy_problems(step, prefix))
        if "fallback" in step:
            fallback = step["fallback"]
            if not isinstance(fallback, dict) or set(fallback) - {"skill", "params"}:
                problems[f"{prefix}.fallback"] = ["Must be an object with skill and params."]
            else:
                problems.update(_call_problems(fallback, index, f"{prefix}.fallback", allow_unknown=False, caps=caps))
    if problems:
        raise PlanInvalid(problems)
