"""Loopback stand-ins for the demos: a CoinGecko-like price API, a flaky endpoint, a Slack receiver.

    python examples/_local/standins.py [--host 127.0.0.2] [--urls-file F]

prints one JSON line `{"price": URL, "flaky": URL, "down": URL, "slack": URL, "requests": URL}` once
listening, then serves until interrupted. Standard library only (no SDK, no server code).

- `GET /api/v3/simple/price?ids=bitcoin&vs_currencies=usd` → `{"bitcoin": {"usd": <price>}}`
- `GET /flaky?fail=N` → 503 for N requests in a row, then one 200 `{"ok": true, "attempt": N+1}`,
  then the count starts again (so a demo can be re-run against the same stand-in)
- `GET /always-503` → always 503
- `POST /services/...` → Slack's incoming webhook: records the JSON message, answers `ok`
- `GET /_requests` → every request received so far (method, path, body), for checks
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_BTC_PRICE = 97123.45


class StandIns:
    """All three stand-ins on one threaded server (distinct paths), started and stopped as a context."""

    def __init__(self, host: str = "127.0.0.2", port: int = 0, btc_price: float = DEFAULT_BTC_PRICE) -> None:
        self.btc_price = btc_price
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flaky_failures: dict[str, int] = {}
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def urls(self) -> dict[str, str]:
        return {
            "price": f"{self.base}/api/v3/simple/price?ids=bitcoin&vs_currencies=usd",
            "flaky": f"{self.base}/flaky?fail=3",
            "down": f"{self.base}/always-503",
            "slack": f"{self.base}/services/T000/B000/demo",
            "requests": f"{self.base}/_requests",
        }

    def slack_messages(self) -> list[Any]:
        with self._lock:
            return [r["json"] for r in self.requests if r["path"].startswith("/services/")]

    def __enter__(self) -> StandIns:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, Any]:
        if path == "/_requests":
            with self._lock:
                return 200, list(self.requests)
        with self._lock:
            try:
                decoded = json.loads(body) if body else None
            except ValueError:
                decoded = body.decode("utf-8", "replace")
            self.requests.append({"method": method, "path": path, "query": query, "json": decoded})
        if path == "/api/v3/simple/price":
            ids = (query.get("ids") or ["bitcoin"])[0].split(",")
            currencies = (query.get("vs_currencies") or ["usd"])[0].split(",")
            return 200, {i: {c: self.btc_price for c in currencies} for i in ids}
        if path == "/flaky":
            fail = int((query.get("fail") or ["3"])[0])
            key = (query.get("key") or ["default"])[0]
            with self._lock:
                seen = self._flaky_failures.get(key, 0)
                if seen < fail:
                    self._flaky_failures[key] = seen + 1
                    return 503, {"error": "unavailable", "attempt": seen + 1}
                self._flaky_failures[key] = 0
            return 200, {"ok": True, "attempt": seen + 1}
        if path == "/always-503":
            return 503, {"error": "unavailable"}
        if path.startswith("/services/") and method == "POST":
            return 200, "ok"
        return 404, {"error": "not_found", "path": path}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standins = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                status, payload = standins._answer(self.command, parts.path, parse_qs(parts.query), body)
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                ctype = "text/plain" if isinstance(payload, str) else "application/json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve  # noqa: N815 - http.server's names

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 127.0.0.2 is loopback too, but not the address the AOS server listens on, so allow-listing
    # it for http_call does not let plans reach the server itself.
    parser.add_argument("--host", default="127.0.0.2")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--btc-price", type=float, default=DEFAULT_BTC_PRICE)
    parser.add_argument("--urls-file", default=None, help="Also write the URLs JSON here.")
    args = parser.parse_args(argv)
    with StandIns(args.host, args.port, args.btc_price) as standins:
        line = json.dumps(standins.urls())
        if args.urls_file:
            with open(args.urls_file, "w", encoding="utf-8") as fh:
                fh.write(line + "\n")
        print(line, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
