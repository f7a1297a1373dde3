"""The same log context in Celery tasks: task id and name, and for a run its ids and tenant.

Connected from aosproject/celery.py. `runtime.run_execute` gets only the trace's primary key, so
the run's ids are read once before it starts (one indexed query): every line the run logs, and
the closing one with its duration, then name the run and the tenant.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aosproject import log_context

logger = logging.getLogger("aosproject.tasks")

_started: dict[str, tuple[float, Any]] = {}


def _run_fields(trace_pk: Any) -> dict[str, Any]:
    from traces.models import Trace

    row = (
        Trace.objects.filter(pk=trace_pk).values("trace_id", "run_id", "tenant__slug").first()
        if isinstance(trace_pk, int)
        else None
    )
    if row is None:
        return {}
    return {"trace_id": row["trace_id"], "run_id": row["run_id"], "tenant": row["tenant__slug"]}


def task_started(task_id: str, task, args=None, **_kwargs) -> None:
    fields: dict[str, Any] = {"task_id": task_id, "task_name": task.name}
    if task.name == "runtime.run_execute" and args:
        try:
            fields.update(_run_fields(args[0]))
        except Exception:  # the task itself reports database trouble; the log context is best effort
            logger.debug("run ids for the log context not read", exc_info=True)
    _started[task_id] = (time.perf_counter(), log_context.push(**fields))


def task_finished(task_id: str, task, state: str | None = None, **_kwargs) -> None:
    started, token = _started.pop(task_id, (None, None))
    if started is not None:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        logger.info(
            "task %s %s in %.2fms",
            task.name,
            state,
            duration_ms,
            extra={"state": state, "duration_ms": duration_ms},
        )
    if token is not None:
        log_context.restore_fields(token)


def connect_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_started, weak=False, dispatch_uid="aos-log-task-started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="aos-log-task-finished")
