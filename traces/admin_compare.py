"""The admin's compare view of two traces (original vs replay): a summary, then one page of steps.

Costs the same for 100 and 10,000 steps (docs/decisions/0070): the traces are read without their
JSON columns; one aggregate query over the (trace, index) join of both traces' steps gives the
equal and differing counts and the first diverging step from the hash columns only; a page shows
at most 100 step indexes (`?page=N`, by default the one holding the first divergence, or
`?step=N`'s), and only the page's differing steps have their params and output read. Equal steps
link their JSON on demand (the trace JSON view). `?only=differing` pages through the differing
steps alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe

from traces.diff import structural_diff
from traces.models import Trace, TraceStep
from traces.timeline import STEP_JSON_SHOWN, json_pretty, replay_mismatch, trace_parity

STEPS_PER_PAGE = 100
# The trace's JSON columns: never read by the compare view.
COMPARE_DEFERRED = ("plan", "input", "metadata")
HEADER_FIELDS = ("source", "status", "plan_hash", "seed", "frozen_timestamp", "root_hash", "total_steps")
# What makes two traces "the same" (as `trace_compare`): hashed content, not audit fields.
MATCH_FIELDS = ("plan_hash", "seed", "frozen_timestamp", "status", "root_hash")
# In the order replay checks a step (PRODUCT.md §4), then the step hash that covers them all.
STEP_CHECKS = (
    ("skill_id", "skill_mismatch"),
    ("input_hash", "input_mismatch"),
    ("status", "status_mismatch"),
    ("output_hash", "output_mismatch"),
    ("step_hash", "step_hash_mismatch"),
)
STEP_COLUMNS = ("skill_id", "status", "input_hash", "output_hash", "step_hash")
ONLY_DIFFERING = "differing"
DIFFERENCES_SHOWN = 200  # structural differences listed for a page


@dataclass
class StepSummary:
    """What the database says about the steps of two traces, from their hashes only."""

    a_steps: int
    b_steps: int
    common: int  # indexes present in both
    common_differing: int  # of those, steps whose hashes, skill or status differ
    first_common_difference: int | None

    @property
    def equal(self) -> int:
        return self.common - self.common_differing

    @property
    def count_difference(self) -> int:
        return self.b_steps - self.a_steps

    @property
    def differing(self) -> int:
        return self.common_differing + abs(self.a_steps - self.b_steps)

    @property
    def first_difference(self) -> int | None:
        if self.first_common_difference is not None:
            return self.first_common_difference
        return self.common if self.a_steps != self.b_steps else None


@dataclass
class ComparePage:
    number: int
    num_pages: int
    only_differing: bool
    indexes: list[int]
    notice: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)

    def page_numbers(self) -> list[int | None]:
        """First, last and the pages around the current one; None marks a gap."""
        wanted = {1, self.num_pages, *range(self.number - 2, self.number + 3)}
        out: list[int | None] = []
        for p in sorted(p for p in wanted if 1 <= p <= self.num_pages):
            if out and p - (out[-1] or 0) > 1:
                out.append(None)
            out.append(p)
        return out


def _differs_sql(a: str, b: str) -> str:
    quote = connection.ops.quote_name
    return " OR ".join(f"{a}.{quote(c)} <> {b}.{quote(c)}" for c in STEP_COLUMNS)


def _join_sql(select: str, tail: str = "") -> str:
    table = connection.ops.quote_name(TraceStep._meta.db_table)
    index = connection.ops.quote_name("index")
    trace = connection.ops.quote_name("trace_id")
    # Only our own column names and fixed SQL are interpolated; every value is a parameter.
    return (
        f"SELECT {select} FROM {table} sa JOIN {table} sb ON sb.{trace} = %s AND sb.{index} = sa.{index} "  # noqa: S608
        f"WHERE sa.{trace} = %s {tail}"
    )


def step_summary(a: Trace, b: Trace) -> StepSummary:
    """Equal and differing counts and the first differing index: one query, hash columns only."""
    index = connection.ops.quote_name("index")
    differs = _differs_sql("sa", "sb")
    sql = _join_sql(
        f"COUNT(*), COALESCE(SUM(CASE WHEN {differs} THEN 1 ELSE 0 END), 0), "
        f"MIN(CASE WHEN {differs} THEN sa.{index} END)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [b.pk, a.pk])
        common, differing, first = cursor.fetchone()
    return StepSummary(
        a_steps=a.total_steps,
        b_steps=b.total_steps,
        common=int(common),
        common_differing=int(differing),
        first_common_difference=None if first is None else int(first),
    )


def _differing_indexes(a: Trace, b: Trace, summary: StepSummary, start: int, count: int) -> list[int]:
    """The differing step indexes at positions [start, start + count) of all differing ones."""
    out: list[int] = []
    if start < summary.common_differing:
        index = connection.ops.quote_name("index")
        sql = _join_sql(f"sa.{index}", f"AND ({_differs_sql('sa', 'sb')}) ORDER BY sa.{index} LIMIT %s OFFSET %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [b.pk, a.pk, count, start])
            out = [int(row[0]) for row in cursor.fetchall()]
    # Then the steps only the longer trace has (indexes are positions: common..longest-1).
    tail_start = summary.common + max(0, start - summary.common_differing)
    longest = max(summary.a_steps, summary.b_steps)
    out.extend(range(tail_start, min(longest, tail_start + count - len(out))))
    return out


def _differing_before(a: Trace, b: Trace, summary: StepSummary, index_value: int) -> int:
    """How many differing steps come before step `index_value` (its position in the differing list)."""
    if index_value >= summary.common:
        return summary.common_differing + index_value - summary.common
    index = connection.ops.quote_name("index")
    sql = _join_sql("COUNT(*)", f"AND sa.{index} < %s AND ({_differs_sql('sa', 'sb')})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [b.pk, a.pk, index_value])
        return int(cursor.fetchone()[0])


def _number(raw: str | None) -> int | None:
    """A non-negative integer from the query string, or None (ASCII digits only: int("²") fails)."""
    text = (raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _pages(total: int) -> int:
    return max(1, -(-total // STEPS_PER_PAGE))


def compare_page(*, a: Trace, b: Trace, summary: StepSummary, query) -> ComparePage:
    """Which step indexes this request shows; malformed values fall back with a notice, never fail."""
    notices = []
    only_raw = query.get("only")
    only = only_raw is not None and only_raw.strip() == ONLY_DIFFERING
    if only_raw is not None and only_raw.strip() not in ("", ONLY_DIFFERING):
        notices.append(f"Unknown filter only={only_raw.strip()[:40]!r} (only=differing or nothing): all steps shown.")
    longest = max(summary.a_steps, summary.b_steps)
    total = summary.differing if only else longest
    num_pages = _pages(total)
    step_raw = query.get("step")
    focus = _number(step_raw)
    if step_raw is not None and (focus is None or focus >= longest):
        last = f"steps 0–{longest - 1}" if longest else "no steps"
        notices.append(f"There is no step {step_raw.strip()[:40]!r} in these traces ({last}).")
        focus = None
    page_raw = query.get("page")
    number = _number(page_raw)
    if page_raw is not None and (number is None or not 1 <= number <= num_pages):
        notices.append(f"There is no page {page_raw.strip()[:40]!r} (pages 1–{num_pages}).")
        number = None if number is None else min(max(number, 1), num_pages)
    if number is None:
        target = focus if focus is not None else summary.first_difference
        if target is None or (only and target == summary.first_difference):  # the first differing one
            number = 1
        elif only:
            number = min(_differing_before(a, b, summary, target) // STEPS_PER_PAGE + 1, num_pages)
        else:
            number = target // STEPS_PER_PAGE + 1
    start = (number - 1) * STEPS_PER_PAGE
    if only:
        indexes = _differing_indexes(a, b, summary, start, STEPS_PER_PAGE)
    else:
        indexes = list(range(start, min(start + STEPS_PER_PAGE, longest)))
    notice = " ".join(notices) + f" Showing page {number}." if notices else ""
    return ComparePage(number=number, num_pages=num_pages, only_differing=only, indexes=indexes, notice=notice)


def _differs(sa: TraceStep | None, sb: TraceStep | None) -> bool:
    return sa is None or sb is None or any(getattr(sa, c) != getattr(sb, c) for c in STEP_COLUMNS)


def _reason(sa: TraceStep | None, sb: TraceStep | None) -> tuple[str, Any, Any]:
    if sa is None or sb is None:
        return "step_count_mismatch", "—" if sa is None else sa.index, "—" if sb is None else sb.index
    for column, reason in STEP_CHECKS:
        if getattr(sa, column) != getattr(sb, column):
            return reason, getattr(sa, column), getattr(sb, column)
    return "", None, None


def _pair(steps: list[TraceStep], a: Trace) -> tuple[dict[int, TraceStep], dict[int, TraceStep]]:
    a_side: dict[int, TraceStep] = {}
    b_side: dict[int, TraceStep] = {}
    for step in steps:
        (a_side if step.trace_id == a.pk else b_side)[step.index] = step
    return a_side, b_side


def _steps(a: Trace, b: Trace, indexes: list[int], *, contiguous: bool) -> QuerySet[TraceStep]:
    steps = TraceStep.objects.filter(trace_id__in={a.pk, b.pk}).defer("params", "output")
    if contiguous and indexes:
        return steps.filter(index__gte=indexes[0], index__lte=indexes[-1])
    return steps.filter(index__in=indexes)


def _divergence(
    a: Trace, b: Trace, summary: StepSummary, shown: tuple[dict[int, TraceStep], dict[int, TraceStep]]
) -> dict[str, Any] | None:
    """`{step_index, reason, a, b}` as `trace_compare` reports it; the two steps at that index are
    read unless the page shows them (by default it does)."""
    if summary.first_common_difference is None:
        if summary.a_steps == summary.b_steps:
            return None
        return {
            "step_index": summary.common,
            "reason": "step_count_mismatch",
            "a": summary.a_steps,
            "b": summary.b_steps,
        }
    index = summary.first_common_difference
    a_side, b_side = shown
    if index not in a_side or index not in b_side:
        a_side, b_side = _pair(list(_steps(a, b, [index], contiguous=False)), a)
        if a.pk == b.pk:
            b_side = a_side
    reason, va, vb = _reason(a_side.get(index), b_side.get(index))
    return {"step_index": index, "reason": reason, "a": va, "b": vb}


def _trace_step_url(trace: Trace, index: int) -> str:
    url = reverse("admin:traces_trace_change", args=[trace.pk])
    return f"{url}?step={index}#step-{index}"


def _mismatch_links(a: Trace, b: Trace) -> dict[str, Any]:
    """The mismatch (and its group) recorded when one of the two is a replay of the other that diverged."""
    replay = b if b.replay_of_id == a.pk else a if a.replay_of_id == b.pk else None
    mismatch = replay_mismatch(replay) if replay is not None and trace_parity(replay) is False else None
    if mismatch is None:
        return {"mismatch": None}
    opts = mismatch._meta
    group_url = None
    if getattr(mismatch, "group_id", None):
        try:
            group_url = reverse(f"admin:{opts.app_label}_mismatchgroup_change", args=[mismatch.group_id])
        except NoReverseMatch:  # the group admin is not registered
            group_url = None
    return {
        "mismatch": mismatch,
        "mismatch_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[mismatch.pk]),
        "group_url": group_url,
    }


def side_by_side(a: Trace, b: Trace, query) -> dict[str, Any]:
    """Template context for the compare of `a` and `b`: a bounded number of queries."""
    summary = step_summary(a, b)
    page = compare_page(a=a, b=b, summary=summary, query=query)
    a_side, b_side = _pair(list(_steps(a, b, page.indexes, contiguous=not page.only_differing)), a)
    if a.pk == b.pk:
        b_side = a_side
    divergence = _divergence(a, b, summary, (a_side, b_side))
    differing = [i for i in page.indexes if _differs(a_side.get(i), b_side.get(i))]
    json_values: dict[tuple[int, int], tuple[Any, Any]] = {}
    if differing:  # only the page's differing steps have their JSON read
        rows = TraceStep.objects.filter(trace_id__in={a.pk, b.pk}, index__in=differing)
        for trace_id, index_value, params, output in rows.values_list("trace_id", "index", "params", "output"):
            json_values[(trace_id, index_value)] = (params, output)
    header = [
        {"name": name, "a": getattr(a, name), "b": getattr(b, name), "differs": getattr(a, name) != getattr(b, name)}
        for name in HEADER_FIELDS
    ]
    differences = [
        {"path": row["name"], "a": row["a"], "b": row["b"]}
        for row in header
        if row["differs"] and row["name"] in MATCH_FIELDS
    ]
    match = not differences and summary.differing == 0
    urls = {
        side: {part: reverse("admin:traces_trace_json", args=[t.pk, part]) for part in ("params", "output")}
        for side, t in (("a", a), ("b", b))
    }
    for i in page.indexes:
        sa, sb = a_side.get(i), b_side.get(i)
        row = _row(i, sa, sb, a=a, b=b, json_values=json_values, urls=urls)
        page.rows.append(row)
        for d in row["differences"]:
            if len(differences) < DIFFERENCES_SHOWN:
                differences.append(d)
    return {
        "comparison": {"match": match, "first_divergence": divergence, "differences": differences},
        "divergence": divergence,
        "summary": summary,
        "root_hashes_equal": a.root_hash == b.root_hash,
        "header": header,
        "page": page,
        "steps": page.rows,
        "step_rows": mark_safe("".join(r["html"] for r in page.rows)),  # noqa: S308 (escaped in _row)
        **_mismatch_links(a, b),
    }


def _json_cell(value: Any, url: str, index: int) -> str:
    text, cut = json_pretty(value, shown=STEP_JSON_SHOWN)
    more = (
        f'<p class="help">Cut here: <a href="{escape(url)}?step={index}" target="_blank" rel="noopener">'
        "the whole value</a>.</p>"
        if cut
        else ""
    )
    return f"<pre>{escape(text)}</pre>{more}"


def _row(
    index: int,
    sa: TraceStep | None,
    sb: TraceStep | None,
    *,
    a: Trace,
    b: Trace,
    json_values: dict[tuple[int, int], tuple[Any, Any]],
    urls: dict[str, dict[str, str]],
) -> dict[str, Any]:
    differs = _differs(sa, sb)
    reason = _reason(sa, sb)[0] if differs else ""
    links = " ".join(
        f'<a href="{escape(_trace_step_url(t, index))}">{side} #{index}</a>'
        for side, t, s in (("a", a, sa), ("b", b, sb))
        if s is not None
    )
    head = (
        f'<tr class="aos-step-head{" differs" if differs else ""}" id="step-{index}"><th colspan="3">'
        f"step {index}{f' — differs ({escape(reason)})' if differs else ' — same'}"
        f' <span class="aos-step-links">{links}</span></th></tr>'
    )
    fields: list[dict[str, Any]] = []
    cells = []
    for name in STEP_COLUMNS:
        va = getattr(sa, name) if sa else None
        vb = getattr(sb, name) if sb else None
        field_differs = sa is None or sb is None or va != vb
        fields.append({"name": name, "differs": field_differs})
        if differs:
            cells.append(
                f'<tr class="{"differs" if field_differs else ""}"><th class="field">{name}</th>'
                f'<td class="a"><code>{escape(str(va)) if sa else "—"}</code></td>'
                f'<td class="b"><code>{escape(str(vb)) if sb else "—"}</code></td></tr>'
            )
    differences: list[dict[str, Any]] = []
    for position, part in enumerate(("params", "output")):
        if differs:
            va = json_values.get((a.pk, index), (None, None))[position] if sa else None
            vb = json_values.get((b.pk, index), (None, None))[position] if sb else None
            field_differs = sa is None or sb is None or va != vb
            if field_differs and sa and sb:
                differences.extend(structural_diff(va, vb, path=f"steps[{index}].{part}", limit=DIFFERENCES_SHOWN))
            fields.append({"name": part, "differs": field_differs})
            cell_a = _json_cell(va, urls["a"][part], index) if sa else "<pre>—</pre>"
            cell_b = _json_cell(vb, urls["b"][part], index) if sb else "<pre>—</pre>"
            cells.append(
                f'<tr class="{"differs" if field_differs else ""}"><th class="field">{part}</th>'
                f'<td class="a">{cell_a}</td><td class="b">{cell_b}</td></tr>'
            )
        else:
            fields.append({"name": part, "differs": False})
    if not differs and sa is not None:  # both sides have it
        on_demand = " · ".join(
            f'<a href="{escape(urls[side][part])}?step={index}" target="_blank" rel="noopener">{side} {part}</a>'
            for side in ("a", "b")
            for part in ("params", "output")
        )
        cells.append(
            '<tr class="aos-same"><th class="field">same</th>'
            f'<td colspan="2"><code>{escape(sa.skill_id)}</code> {escape(sa.status)}, step hash '
            f'<code class="aos-hash">{escape(sa.step_hash)}</code>; open as JSON: {on_demand}</td></tr>'
        )
    return {
        "index": index,
        "differs": differs,
        "fields": fields,
        "differences": differences,
        "html": head + "".join(cells),
    }
