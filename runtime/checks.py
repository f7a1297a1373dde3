"""Configuration mistakes in the execution limits (called by aosproject/checks.py; README "Execution limits")."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error

_POSITIVE = (
    "AOS_RUN_DEADLINE_SECONDS",
    "AOS_RUN_WAIT_SECONDS",
    "AOS_MAX_CONCURRENT_RUNS",
    "AOS_MAX_STEP_OUTPUT_BYTES",
    "AOS_MAX_PARAMS_BYTES",
    "AOS_MAX_EXPRESSION_CHARS",
    "AOS_MAX_EXPRESSION_DEPTH",
)


def limits_problems() -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    bad = [name for name in _POSITIVE if getattr(settings, name) <= 0]
    bad += [name for name in ("AOS_RUN_REAP_GRACE_SECONDS", "AOS_RUN_WAIT_SLOTS") if getattr(settings, name) < 0]
    if bad:
        problems.append(
            Error(
                f"These execution limits must be positive: {', '.join(bad)}.",
                hint="An unbounded run is what the limits exist to prevent; see README 'Execution limits'.",
                id="aos.E030",
            )
        )
    if settings.AOS_RUN_WAIT_SECONDS >= settings.GUNICORN_TIMEOUT:
        problems.append(
            Error(
                f"AOS_RUN_WAIT_SECONDS ({settings.AOS_RUN_WAIT_SECONDS:g}) must be below GUNICORN_TIMEOUT "
                f"({settings.GUNICORN_TIMEOUT}).",
                hint="`wait: true` must answer 202 before the web server gives up on the request.",
                id="aos.E031",
            )
        )
    return problems
