"""Request ids and the access log (issue 16).

Every request gets an id: the caller's `X-Request-ID` when it is a plausible id (a proxy or client
set it), otherwise a new one; it is returned in the `X-Request-ID` response header and carried by
every log line of the request (aosproject/log_context.py). One access line per request, logged by
`aosproject.request_log` at INFO: method, path (never the query string, which may hold tokens),
status, duration, tenant and principal. gunicorn's own access log is off (deploy/gunicorn.conf.py).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.db.models.signals import post_save

from aosproject import log_context

logger = logging.getLogger("aosproject.request_log")
# A run created by POST /runs has no id in its URL: its creation binds it (lazy sender, no import cycle).
post_save.connect(log_context.bind_created_trace, sender="traces.Trace", weak=False, dispatch_uid="aos-log-trace")

HEADER = "X-Request-ID"
# Short, printable, no spaces or quotes: a client-chosen value must not forge log lines or fields.
_VALID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# Ids that name the object a URL is about; bound so the view's log lines carry them too.
_URL_IDS = ("run_id", "trace_id")


def request_id_for(incoming: str | None) -> str:
    value = (incoming or "").strip()
    return value if _VALID.fullmatch(value) else uuid.uuid4().hex


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        request_token = log_context.bind_request(request)
        fields_token = log_context.reset_fields()
        log_context.bind(request_id=request_id)
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            logger.info(
                "%s %s %s %.2fms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
            return response
        finally:
            log_context.restore_fields(fields_token)
            log_context.unbind_request(request_token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        log_context.bind(**{name: view_kwargs[name] for name in _URL_IDS if view_kwargs.get(name)})
        return None
