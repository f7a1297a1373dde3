"""Structural diff of JSON values (pure): where two values differ, as paths with both sides.

Used by replay (diff of expected vs actual output) and trace compare.
"""

from __future__ import annotations

from typing import Any

MISSING = "<missing>"


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def structural_diff(a: Any, b: Any, path: str = "", limit: int = 200) -> list[dict[str, Any]]:
    """Differences between `a` and `b` as `[{"path", "a", "b"}]`, depth first, in key order.

    A key present on one side only is reported with `"<missing>"` on the other. At most `limit`
    entries are returned (a huge diff is not useful to a human and costs memory).
    """
    out: list[dict[str, Any]] = []
    _walk(a, b, path, out, limit)
    return out


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            _walk(a.get(key, MISSING), b.get(key, MISSING), _join(path, key), out, limit)
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            _walk(a[i] if i < len(a) else MISSING, b[i] if i < len(b) else MISSING, _join(path, i), out, limit)
        return
    # bool is an int in Python; JSON tells them apart, and so do we.
    if a != b or type(a) is not type(b):
        out.append({"path": path or "$", "a": a, "b": b})
