"""The project's WSGI app plus one probe path, for tests/deploy/test_gunicorn_gc.py: what a gunicorn worker froze."""

import gc
import json
import sys

from aosproject.wsgi import application as aos_application


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/_gc":
        return aos_application(environ, start_response)
    body = json.dumps(
        {"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects()), "urlconf": "traces.api" in sys.modules}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
