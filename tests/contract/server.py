"""A live server for the fuzz run: a few worker threads that keep their database connection.

pytest-django's `live_server` (and tests/runtime/pooled_server.py) open a database connection per
request; over thousands of fuzzed requests that dominates the run. Here each worker thread keeps
its connection, as a gunicorn worker does, and the server closes them all when it stops.
"""

from __future__ import annotations

import threading

from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.test.testcases import QuietWSGIRequestHandler

from tests.runtime.pooled_server import PooledWSGIServer


class _Server(PooledWSGIServer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.opened: dict[int, object] = {}
        self.lock = threading.Lock()

    def _serve(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self.lock:
                self.opened[threading.get_ident()] = connections["default"]


class KeepConnectionsLiveServer:
    def __init__(self, workers: int = 2):
        if connections["default"].vendor == "sqlite":
            workers = 1  # SQLite serialises writers anyway
        self.server = _Server(("127.0.0.1", 0), QuietWSGIRequestHandler, workers=workers)
        self.server.set_app(WSGIHandler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> KeepConnectionsLiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.pool.shutdown(wait=True)
        self.server.server_close()
        for conn in self.server.opened.values():
            # Each belongs to a finished worker thread; close the driver connection directly.
            raw = getattr(conn, "connection", None)
            if raw is not None:
                raw.close()
