"""The same log context in Celery tasks: task id and name, and for a run its ids and tenant.

Connected from aosproject/celery.py. `runtime.run_execute` gets only the trace's primary key; it binds
the run's ids and tenant itself as soon as it has read the trace (runtime/services.py, the query it
makes anyway), so every line the run logs after that, and the closing one with its duration, name
the run and the tenant. (Until issue 15 this module read them with a query of its own per task.)
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aosproject import log_context

logger = logging.getLogger("aosproject.tasks")

_started: dict[str, tuple[float, Any]] = {}


def task_started(task_id: str, task, **_kwargs) -> None:
    fields: dict[str, Any] = {"task_id": task_id, "task_name": task.name}
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
