"""A live Django server with a bounded worker pool, like gunicorn's workers × threads.

pytest-django's `live_server` starts one thread per request: 200 concurrent requests would open
200 PostgreSQL connections (a shared server's `max_connections` is 100) and overflow Django's
listen backlog of 10 (connection resets). Here the backlog is large and the pool is bounded.
With in-memory SQLite the workers share the test's connection (as Django's LiveServerThread
does), so the pool is one worker: SQLite serialises writers anyway.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIServer
from django.db import connections
from django.test.testcases import QuietWSGIRequestHandler


class PooledWSGIServer(WSGIServer):
    request_queue_size = 1024

    def __init__(self, *args, workers: int, shared: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="live-worker")
        self.shared = shared or {}

    def process_request(self, request, client_address):
        self.pool.submit(self._serve, request, client_address)

    def _serve(self, request, client_address):
        for alias, conn in self.shared.items():
            connections[alias] = conn
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            if not self.shared:
                connections.close_all()


class PooledLiveServer:
    def __init__(self, workers: int = 16):
        conn = connections["default"]
        self.shared = {}
        if conn.vendor == "sqlite" and conn.is_in_memory_db():
            conn.inc_thread_sharing()
            self.shared = {"default": conn}
            workers = 1
        self.server = PooledWSGIServer(("127.0.0.1", 0), QuietWSGIRequestHandler, workers=workers, shared=self.shared)
        self.server.set_app(WSGIHandler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.workers = workers

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PooledLiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.pool.shutdown(wait=True)
        self.server.server_close()
        for conn in self.shared.values():
            conn.dec_thread_sharing()
