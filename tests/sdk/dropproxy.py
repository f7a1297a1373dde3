"""A loopback TCP proxy that forwards the first N requests, waits for the full answer, then closes
the client's connection without sending it: the server committed, the client saw nothing."""

from __future__ import annotations

import socket
import socketserver
import threading


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += conn.recv(65536)
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


class DropFirstResponses:
    def __init__(self, upstream_port: int, drop: int = 1) -> None:
        self.drop = drop
        self.forwarded: list[bytes] = []
        self.dropped = 0
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                request = _read_request(self.request)
                if not request:
                    return
                proxy.forwarded.append(request)
                with socket.create_connection(("127.0.0.1", upstream_port), timeout=30) as up:
                    up.sendall(request)
                    answer = b""
                    while chunk := up.recv(65536):
                        answer += chunk
                with threading.Lock():
                    drop = proxy.dropped < proxy.drop
                    if drop:
                        proxy.dropped += 1
                if not drop:
                    self.request.sendall(answer)
                # Closing without a byte sent: the client's read fails like a dropped connection.

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> DropFirstResponses:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
