"""Ids on every log line: request, tenant, principal, trace, run, Celery task (issue 16).

A `contextvars` context per request (aosproject.request_log) and per Celery task
(aosproject.log_celery); `ContextFilter` copies it onto each record, so any logger's lines carry
the ids without passing them around. Tenant and principal are read lazily from the request's
`auth` (set by DRF once it has authenticated), so lines logged after authentication carry them.

Values are identifiers only (a tenant slug, `api_key:<prefix>`, `user:<name>`, a JWT `sub`),
never a credential.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

_request: contextvars.ContextVar[Any] = contextvars.ContextVar("aos_log_request", default=None)
_fields: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("aos_log_fields", default={})  # noqa: B039

FIELDS = ("request_id", "tenant", "principal", "trace_id", "run_id", "task_id", "task_name")


def bind_request(request) -> contextvars.Token:
    return _request.set(request)


def unbind_request(token: contextvars.Token) -> None:
    _request.reset(token)


def bind(**fields: Any) -> None:
    """Adds fields to the current context (a request's or a task's)."""
    _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v not in (None, "")}})


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    token = _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v not in (None, "")}})
    try:
        yield
    finally:
        _fields.reset(token)


def bind_missing(**fields: Any) -> None:
    """Adds only the fields not bound yet (the URL's run id wins over a replay's new one)."""
    present = _fields.get()
    bind(**{k: v for k, v in fields.items() if present.get(k) in (None, "")})


def bind_created_trace(sender, instance, created: bool, **kwargs) -> None:
    """post_save of traces.Trace: a run or trace made by this request or task names its log lines."""
    if created:
        bind_missing(trace_id=instance.trace_id, run_id=instance.run_id)


def push(**fields: Any) -> contextvars.Token:
    """Binds fields on top of the current ones until `restore_fields(token)` (an eager task in a request)."""
    return _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v not in (None, "")}})


def reset_fields() -> contextvars.Token:
    return _fields.set({})


def restore_fields(token: contextvars.Token) -> None:
    _fields.reset(token)


def current() -> dict[str, Any]:
    """The ids of the current request or task (absent ones are None)."""
    values: dict[str, Any] = dict.fromkeys(FIELDS)
    request = _request.get()
    if request is not None:
        principal = getattr(request, "auth", None)
        tenant = getattr(principal, "tenant", None)
        if tenant is not None:
            values["tenant"] = tenant.slug
            values["principal"] = getattr(principal, "subject", None)
        else:
            user = getattr(request, "user", None)
            if user is not None and getattr(user, "is_authenticated", False):
                values["principal"] = f"user:{user.get_username()}"
    values.update(_fields.get())
    return values


class ContextFilter(logging.Filter):
    """Sets every FIELDS attribute on the record (None when unknown), for both formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            context = current()
        except Exception:  # a half-built request must never stop a log line
            context = dict.fromkeys(FIELDS)
        for name, value in context.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: one console handler, JSON (python-json-logger) or text."""
    json_fields = "%(asctime)s %(levelname)s %(name)s %(message)s"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "aosproject.log_context.ContextFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": json_fields,
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s] %(message)s"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]},
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own default handlers (plain text, DEBUG only) replaced by ours: one format per stream.
        "loggers": {
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.server": {"handlers": [], "level": "INFO", "propagate": True},
            "django.db.backends": {"level": "INFO"},
            # axes.apps says "AXES: BEGIN ..." at every start, which commands would print on stderr.
            "axes.apps": {"level": "WARNING"},
        },
    }
