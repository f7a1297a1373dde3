"""The trace page's timeline (issue 19): one page of steps as a waterfall, and a replay's divergence.

Steps run one after another, so a step's offset is the sum of the durations before it. One
aggregate query gives the duration of every page of steps (at most 100 numbers for 10,000
steps); a finished trace never changes, so they are cached and later pages cost no query for
it. Step indexes are positions (0..n-1, ingest and the runtime both guarantee it), so a page is
an index range served by the (trace, index) unique index: a 10,000-step trace costs what a
100-step one does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.core.cache import cache
from django.db.models import F, OuterRef, Q, Subquery, Sum

from traces.models import Trace, TraceSource, TraceStatus, TraceStep

STEPS_PER_PAGE = 100
# Characters of a JSON value shown inline in the admin (`json_pretty`).
JSON_SHOWN = 100_000
# Characters of a step's params/output shown on the trace page (outputs may be up to
# AOS_MAX_STEP_OUTPUT_BYTES, and a page has 100 steps); the rest behind the trace's JSON view.
STEP_JSON_SHOWN = 20_000
# What is derived from a finished trace (page durations, a replay's divergence) is cached this long.
IMMUTABLE_CACHE_SECONDS = 24 * 3600
FINISHED = (TraceStatus.SUCCEEDED, TraceStatus.FAILED)

# Where skills and SDKs put token counts in a step's output (OpenAI, Anthropic and the local provider).
_TOKEN_KEYS = (("prompt_tokens", "completion_tokens"), ("input_tokens", "output_tokens"))


def trace_parity(trace: Trace) -> bool | None:
    """True/False for a replay (did it reproduce the original?), None for anything else.

    The `Trace.parity` column (docs/decisions/0037), written by the replay and backfilled from the
    replay's metadata for older rows.
    """
    if trace.source != TraceSource.REPLAY:
        return None
    return trace.parity


def replay_mismatch(trace: Trace):
    """The mismatch the runtime recorded on the original when this replay diverged, if any."""
    if trace_parity(trace) is not False or not (trace.replay_of_id and trace.run_id):
        return None
    mismatches = trace.mismatches.model.objects.filter(trace_id=trace.replay_of_id)
    return mismatches.filter(details__replay_run_id=trace.run_id).order_by("created_at").first()


def replay_divergence(trace: Trace, *, mismatch=None) -> int | None:
    """The step index where a diverged replay left its original; None when it did not diverge."""
    if trace_parity(trace) is not False:
        return None
    if mismatch is not None:
        return mismatch.step_index
    if not trace.replay_of_id:
        return None
    # Otherwise the first step whose hash differs from the original's (or that it lacks): a walk
    # over the steps, so kept once found (both traces are stored and never change).
    key = f"aos:trace-diverged:{trace.pk}:{trace.root_hash}:{trace.replay_of_id}"
    cached = cache.get(key) if trace.status in FINISHED else None
    if cached is not None:
        return cached if cached >= 0 else None
    original_hash = TraceStep.objects.filter(trace_id=trace.replay_of_id, index=OuterRef("index")).values("step_hash")
    index = (
        trace.steps.annotate(original_hash=Subquery(original_hash))
        .filter(Q(original_hash__isnull=True) | ~Q(step_hash=F("original_hash")))
        .order_by("index")
        .values_list("index", flat=True)
        .first()
    )
    if trace.status in FINISHED:
        cache.set(key, -1 if index is None else index, IMMUTABLE_CACHE_SECONDS)
    return index


def output_tokens(output: Any) -> dict[str, int] | None:
    """{prompt, completion, total} from an LLM step's `usage`, or None when the output has none."""
    usage = output.get("usage") if isinstance(output, dict) else None
    if not isinstance(usage, dict):
        return None
    for prompt_key, completion_key in _TOKEN_KEYS:
        prompt, completion = usage.get(prompt_key), usage.get(completion_key)
        if isinstance(prompt, int) or isinstance(completion, int):
            prompt = prompt if isinstance(prompt, int) else 0
            completion = completion if isinstance(completion, int) else 0
            total = usage.get("total_tokens")
            return {
                "prompt": prompt,
                "completion": completion,
                "total": total if isinstance(total, int) else prompt + completion,
            }
    return None


def json_full(value: Any) -> str:
    """Indented JSON with sorted keys.

    orjson: the standard library's encoder is pure Python once `indent` is set (about 40x slower),
    which made pretty JSON most of a trace page's server time.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer beyond 64 bits: the slow path
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def json_pretty(value: Any, *, shown: int = JSON_SHOWN) -> tuple[str, bool]:
    """`json_full(value)` and whether it was cut at `shown` characters."""
    text = json_full(value)
    return (text[:shown], True) if len(text) > shown else (text, False)


@dataclass(frozen=True)
class TimelineRow:
    step: TraceStep
    offset_ms: float
    left_pct: float
    width_pct: float
    tokens: dict[str, int] | None
    params_json: str
    params_cut: bool
    output_json: str
    output_cut: bool
    diverged: bool
    focused: bool

    # Preformatted: Django's floatformat is the slowest filter, and a page has 100 rows.
    @property
    def offset_text(self) -> str:
        return f"{self.offset_ms:.1f}"

    @property
    def duration_text(self) -> str:
        return f"{self.step.duration_ms:.1f}"

    @property
    def cost_text(self) -> str:
        cost = self.step.cost_cents
        return "0" if not cost else f"{cost:.4f}" if cost < 0.01 else f"{cost:.2f}"

    @property
    def bar_style(self) -> str:
        return f"left: {self.left_pct:.3f}%; width: {self.width_pct:.3f}%"

    @property
    def hashes(self) -> list[tuple[str, str]]:
        step = self.step
        return [("input hash", step.input_hash), ("output hash", step.output_hash), ("step hash", step.step_hash)]


@dataclass
class TimelinePage:
    number: int
    num_pages: int
    per_page: int
    total_steps: int
    total_ms: float
    notice: str = ""  # what was wrong with the query string, if anything
    rows: list[TimelineRow] = field(default_factory=list)

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def last_index(self) -> int:
        return min(self.number * self.per_page, self.total_steps) - 1

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    def page_numbers(self) -> list[int | None]:
        """First, last and the pages around the current one; None marks a gap."""
        wanted = {1, self.num_pages, *range(self.number - 2, self.number + 3)}
        pages = sorted(p for p in wanted if 1 <= p <= self.num_pages)
        out: list[int | None] = []
        for p in pages:
            if out and p - (out[-1] or 0) > 1:
                out.append(None)
            out.append(p)
        return out


def page_durations(trace: Trace, *, per_page: int = STEPS_PER_PAGE) -> list[float]:
    """The summed step durations of each page of `trace` (page 1 first), cached once it finished."""
    key = f"aos:trace-page-ms:{trace.pk}:{trace.root_hash}:{trace.total_steps}:{per_page}"
    finished = trace.status in FINISHED
    if finished and (cached := cache.get(key)) is not None:
        return cached
    rows = (
        trace.steps.order_by()
        .annotate(page=F("index") / per_page)
        .values("page")
        .annotate(ms=Sum("duration_ms"))
        .values_list("page", "ms")
    )
    sums = [0.0] * max(1, -(-trace.total_steps // per_page))
    for page, ms in rows:
        if 0 <= page < len(sums):
            sums[page] = max(float(ms or 0), 0.0)
    if finished:
        cache.set(key, sums, IMMUTABLE_CACHE_SECONDS)
    return sums


def page_for_step(index: int, *, per_page: int = STEPS_PER_PAGE) -> int:
    return index // per_page + 1


def _number(raw: str | None) -> int | None:
    """A non-negative integer from the query string, or None (ASCII digits only: int("²") fails)."""
    text = (raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def timeline_page(
    *,
    trace: Trace,
    page: str | None = None,
    focus: str | None = None,
    diverged_at: int | None = None,
    per_page: int = STEPS_PER_PAGE,
) -> TimelinePage:
    """One page of `trace`'s steps; `page` and `focus` (a step index) come from the query string.

    Without a valid `page`, the page holding `focus`, else the diverging step, else the first.
    Malformed or out-of-range values fall back instead of failing, and `notice` says so: the page
    always opens.
    """
    total_steps = trace.total_steps
    num_pages = max(1, -(-total_steps // per_page))
    notices = []
    focus_index = _number(focus)
    if focus is not None and (focus_index is None or focus_index >= total_steps):
        last = f"steps 0–{total_steps - 1}" if total_steps else "no steps"
        notices.append(f"There is no step {focus.strip()[:40]!r} in this trace ({last}).")
        focus_index = None
    number = _number(page)
    if page is not None and (number is None or not 1 <= number <= num_pages):
        notices.append(f"There is no step page {page.strip()[:40]!r} (pages 1–{num_pages}).")
        number = None if number is None else min(max(number, 1), num_pages)
    if number is None:
        target = focus_index if focus_index is not None else diverged_at
        number = min(page_for_step(target, per_page=per_page), num_pages) if target is not None else 1
    start = (number - 1) * per_page
    steps = list(trace.steps.filter(index__gte=start, index__lt=start + per_page).order_by("index"))
    sums = page_durations(trace, per_page=per_page)
    offset = sum(sums[: number - 1])
    total_ms = sum(sums)
    result = TimelinePage(
        number=number,
        num_pages=num_pages,
        per_page=per_page,
        total_steps=total_steps,
        total_ms=total_ms,
        notice=" ".join(notices) + f" Showing page {number}." if notices else "",
    )
    for step in steps:
        params_json, params_cut = json_pretty(step.params, shown=STEP_JSON_SHOWN)
        output_json, output_cut = json_pretty(step.output, shown=STEP_JSON_SHOWN)
        duration = max(step.duration_ms, 0.0)
        left = 100 * offset / total_ms if total_ms else 0.0
        width = 100 * duration / total_ms if total_ms else 0.0
        result.rows.append(
            TimelineRow(
                step=step,
                offset_ms=offset,
                left_pct=round(min(left, 100.0), 3),
                width_pct=round(min(max(width, 0.15), 100.0 - min(left, 99.85)), 3),
                tokens=output_tokens(step.output),
                params_json=params_json,
                params_cut=params_cut,
                output_json=output_json,
                output_cut=output_cut,
                diverged=step.index == diverged_at,
                focused=step.index == focus_index,
            )
        )
        offset += duration
    return result
