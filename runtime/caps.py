"""Size and complexity caps for untrusted plans (PRODUCT.md §14). Pure: no Django, no I/O.

JMESPath is evaluated by a bounded interpreter: every value the interpreter *builds* (lists,
objects, projections, function results) is measured as it is produced, so `[@, @] | [@, @] | ...`
stops at the cap instead of expanding to gigabytes when it is serialised. Sizes are memoised by
object identity: JMESPath shares sub-values instead of copying them, and a shared value is
measured once, so measuring costs no more than building. Expressions are length- and
depth-checked before the (recursive) parser sees them, which turns ~500 nested parentheses into
a clear error instead of a RecursionError.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.lexer import Lexer
from jmespath.visitor import TreeInterpreter

ERR_OUTPUT_TOO_LARGE = "ERR_OUTPUT_TOO_LARGE"
ERR_PARAMS_TOO_LARGE = "ERR_PARAMS_TOO_LARGE"
ERR_EXPRESSION_TOO_COMPLEX = "ERR_EXPRESSION_TOO_COMPLEX"

_OPENERS = {"lparen", "lbracket", "lbrace", "filter"}
_CLOSERS = {"rparen", "rbracket", "rbrace"}
_PREFIX = {"not", "expref"}  # each one is a recursive call in the parser, brackets or not
# Node types whose result is a value the interpreter builds (the rest return parts of the input).
_BUILDERS = {
    "multi_select_list",
    "multi_select_dict",
    "projection",
    "value_projection",
    "filter_projection",
    "flatten",
    "slice",
    "function_expression",
}


@dataclass(frozen=True)
class Caps:
    """The numbers; `runtime.policy` fills them from settings."""

    max_output_bytes: int = 1024 * 1024
    max_params_bytes: int = 2 * 1024 * 1024
    max_expression_chars: int = 1024
    max_expression_depth: int = 32
    max_expression_visits: int = 1_000_000  # interpreter node visits: bounds CPU on large inputs


class CapExceeded(Exception):
    """A cap was hit: `code` is the step error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ExpressionTooComplex(CapExceeded, JMESPathError):
    def __init__(self, message: str) -> None:
        CapExceeded.__init__(self, ERR_EXPRESSION_TOO_COMPLEX, message)


class OutputTooLarge(CapExceeded):
    def __init__(self, message: str) -> None:
        super().__init__(ERR_OUTPUT_TOO_LARGE, message)


# --- sizes -------------------------------------------------------------------------------


def _scalar_size(value: Any) -> int:
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, int | float):
        return len(repr(value))
    return len(str(value)) + 2


def _children(value: Any):
    if isinstance(value, dict):
        first = True
        for key, child in value.items():
            yield (len(str(key)) + 3 + (0 if first else 1)), child
            first = False
    else:
        for i, child in enumerate(value):
            yield (1 if i else 0), child


def json_size(value: Any, *, limit: int, memo: dict[int, tuple[Any, int]] | None = None) -> int:
    """Approximate JSON size of `value` in characters; raises OutputTooLarge past `limit`.

    Iterative (deep inputs cannot overflow the stack) and memoised by identity (shared values
    are measured once); it stops as soon as the running total passes the limit.
    """
    if not isinstance(value, list | dict):
        size = _scalar_size(value)
        if size > limit:
            raise OutputTooLarge(f"A value of {size} bytes exceeds the {limit}-byte cap.")
        return size
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)][1]
    running = 2  # every character counted so far, across the open frames
    stack: list[list[Any]] = [[value, _children(value), 2]]
    while stack:
        frame = stack[-1]
        for extra, child in frame[1]:
            known = memo.get(id(child)) if isinstance(child, list | dict) else None
            if isinstance(child, list | dict) and known is None:
                frame[2] += extra
                running += extra + 2
                stack.append([child, _children(child), 2])
                break
            added = extra + (known[1] if known is not None else _scalar_size(child))
            frame[2] += added
            running += added
            if running > limit:
                raise OutputTooLarge(f"The value exceeds the {limit}-byte cap.")
        else:
            stack.pop()
            memo[id(frame[0])] = (frame[0], frame[2])  # keeps the object alive, so its id stays unique
            if stack:
                stack[-1][2] += frame[2]
            continue
        if running > limit:
            raise OutputTooLarge(f"The value exceeds the {limit}-byte cap.")
    return memo[id(value)][1]


# --- expressions -------------------------------------------------------------------------


def _lexical_depth(expr: str) -> int:
    depth = deepest = prefixes = 0
    for token in Lexer().tokenize(expr):  # iterative; raises LexerError on bad input
        kind = token["type"]
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS:
            depth -= 1
        elif kind in _PREFIX:
            prefixes += 1
        deepest = max(deepest, depth + prefixes)
    return deepest


def _ast_depth(node: dict[str, Any]) -> int:
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in current.get("children", ()):
            if isinstance(child, dict):
                stack.append((child, depth + 1))
    return deepest


@lru_cache(maxsize=2048)  # bounded: expressions come from callers
def _compile(expr: str, max_chars: int, max_depth: int):
    if len(expr) > max_chars:
        raise ExpressionTooComplex(f"Expression is {len(expr)} characters; at most {max_chars} are allowed.")
    if _lexical_depth(expr) > max_depth:
        raise ExpressionTooComplex(f"Expression nests deeper than {max_depth} levels.")
    try:
        parsed = jmespath.compile(expr)
    except RecursionError:
        raise ExpressionTooComplex(f"Expression nests deeper than {max_depth} levels.") from None
    if _ast_depth(parsed.parsed) > max_depth:
        raise ExpressionTooComplex(f"Expression nests deeper than {max_depth} levels.")
    return parsed


def expression_compile(expr: str, caps: Caps):
    """The parsed expression; ExpressionTooComplex or another JMESPathError when unusable."""
    return _compile(expr, caps.max_expression_chars, caps.max_expression_depth)


def expression_problem(expr: str, caps: Caps) -> str | None:
    """Why `expr` cannot be used (syntax or complexity), or None."""
    try:
        expression_compile(expr, caps)
    except ExpressionTooComplex as exc:
        return exc.message
    except JMESPathError as exc:
        return f"Invalid JMESPath expression: {exc}"
    return None


class _BoundedInterpreter(TreeInterpreter):
    def __init__(self, caps: Caps) -> None:
        super().__init__()
        self._caps = caps
        self._visits = 0
        self._memo: dict[int, tuple[Any, int]] = {}

    def visit(self, node, *args, **kwargs):
        self._visits += 1
        if self._visits > self._caps.max_expression_visits:
            raise ExpressionTooComplex(
                f"Evaluation took more than {self._caps.max_expression_visits} steps; simplify the expression."
            )
        result = super().visit(node, *args, **kwargs)
        if node["type"] in _BUILDERS:
            json_size(result, limit=self._caps.max_output_bytes, memo=self._memo)
        return result


def expression_search(expr: str, data: Any, caps: Caps) -> Any:
    """Evaluates `expr` on `data` within the caps (raises CapExceeded or JMESPathError)."""
    parsed = expression_compile(expr, caps)
    interpreter = _BoundedInterpreter(caps)
    try:
        return interpreter.visit(parsed.parsed, data)
    except RecursionError:  # belt and braces: the depth check above should make this unreachable
        raise ExpressionTooComplex("Expression evaluation nested too deeply.") from None
