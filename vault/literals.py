"""Literal credentials in plans are refused (PRODUCT.md §13). Pure: no database.

High-confidence shapes only (a false positive blocks a run): vendor token formats, bearer/basic
credentials, JWTs, PEM private keys, URL passwords, and any literal string under a sensitive key
(the key list is the ingest redaction's, `traces.redaction.is_sensitive_key`). A value written
with a `{{ }}` reference is not literal: `{{ secrets.NAME }}` is what callers are told to use.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from traces.redaction import is_sensitive_key


def _basic_credentials(match: re.Match[str]) -> bool:
    """`Basic <base64>` is a credential when the base64 decodes to `user:password` text."""
    token = match.group(1)
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode()
    except (binascii.Error, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()


# (kind, pattern, confirm). Shapes a plan's prose could take ("bearer authentication", metric names
# such as aos_mismatch_notifications_pending) must not match: a false positive blocks a run.
_SHAPES: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool] | None]] = [
    ("a PEM private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), None),
    (
        "a GitHub token",
        re.compile(r"\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"),
        None,
    ),
    ("a Slack token", re.compile(r"\bxox[abprse]-[A-Za-z0-9-]{10,}"), None),
    ("a Slack webhook URL", re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{10,}"), None),
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), None),
    # API keys are aos_ + 43 url-safe characters (mixed case, digits); metric names are lower-case words.
    # The lookaheads are bounded and a JWT starts only where its run starts, so no start rescans the
    # rest of the string (linear time, as in traces.redaction; tests/vault/test_literals_linear.py).
    ("an AOS API key", re.compile(r"\baos_(?=[\w-]{0,64}[A-Z])(?=[\w-]{0,64}[0-9])[A-Za-z0-9_-]{40,}"), None),
    ("a JWT", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"), None),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+(?=[A-Za-z0-9\-._~+/]*[0-9])[A-Za-z0-9\-._~+/]{16,}=*"), None),
    ("basic-auth credentials", re.compile(r"(?i)\bbasic\s+([A-Za-z0-9+/]{8,}={0,2})"), _basic_credentials),
    ("a password in a URL", re.compile(r"://[^/\s:@{}]+:[^@\s/{}]+@"), None),
]
_QUERY_PARAM = re.compile(r"[?&]([^=&#?\s]+)=([^&#\s]*)")


def _scoped(pattern: re.Pattern[str]) -> str:
    """The pattern as one alternative of a union: a leading `(?i)` becomes a scoped `(?i:...)`."""
    source = pattern.pattern
    return f"(?i:{source[4:]})" if source.startswith("(?i)") else f"(?:{source})"


# Any shape at all, in one scan: most strings match none, and then the ten patterns (each another
# pass over the string) are not run. A union matches where one of its alternatives does, so the
# answer is the same; each alternative is linear, so the union is too.
_ANY_SHAPE = re.compile("|".join(_scoped(pattern) for _, pattern, _ in _SHAPES))


def _without_references(value: str) -> tuple[str, bool]:
    r"""`value` with every `{{ ... }}` taken out, and whether there was one.

    str.find, not a lazy regex: `\{\{.*?\}\}` rescans to the end from every `{{` when no `}}`
    follows (quadratic); here once no `}}` is left, no later `{{` can close either.
    """
    parts, start, found = [], 0, False
    while (opening := value.find("{{", start)) != -1:
        closing = value.find("}}", opening + 2)
        if closing == -1:
            break
        parts.append(value[start:opening])
        start, found = closing + 2, True
    parts.append(value[start:])
    return "".join(parts), found


def _advice() -> str:
    return "store it with PUT /api/v1/secrets/NAME and write {{ secrets.NAME }} here instead."


def literal_problem(value: str, *, sensitive_key: bool) -> str | None:
    """Why `value` looks like a literal credential, or None."""
    literal, has_reference = _without_references(value)  # what remains once references are taken out
    if _ANY_SHAPE.search(literal) is not None:
        for kind, pattern, confirm in _SHAPES:
            if any(confirm is None or confirm(match) for match in pattern.finditer(literal)):
                return f"This looks like {kind}; plans must not carry credentials: {_advice()}"
    if "://" in literal:
        for name, query_value in _QUERY_PARAM.findall(literal):
            if query_value and is_sensitive_key(name):
                return f"The URL carries a literal credential in its query ({name}=...): {_advice()}"
    if sensitive_key and literal.strip() and not has_reference:
        return f"A literal value under a credential key is refused: {_advice()}"
    return None


def literal_credentials(value: Any, path: str, *, sensitive_key: bool = False) -> dict[str, list[str]]:
    """{field path: [message]} for every literal credential inside a JSON value."""
    problems: dict[str, list[str]] = {}
    if isinstance(value, str):
        problem = literal_problem(value, sensitive_key=sensitive_key)
        if problem:
            problems[path] = [problem]
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            problems.update(literal_credentials(item, child, sensitive_key=is_sensitive_key(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problems.update(literal_credentials(item, f"{path}[{i}]", sensitive_key=sensitive_key))
    return problems


def plan_literal_credentials(plan: list[dict[str, Any]], run_input: Any = None) -> dict[str, list[str]]:
    """Problems in every step's (and fallback's) params and in the run input, named as callers write them."""
    problems: dict[str, list[str]] = {}
    for index, step in enumerate(plan):
        problems.update(literal_credentials(step.get("params") or {}, f"plan[{index}].params"))
        fallback = step.get("fallback")
        if isinstance(fallback, dict):
            problems.update(literal_credentials(fallback.get("params") or {}, f"plan[{index}].fallback.params"))
    if run_input is not None:
        problems.update(literal_credentials(run_input, "input"))
    return problems
