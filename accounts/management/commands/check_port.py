"""`make run` asks this first: is HOST:PORT free? So a second `make run` changes nothing."""

import errno
import socket

from django.core.management.base import BaseCommand, CommandError

# Distinct from Django's 1 and make's 2, so scripts can tell "port taken" apart.
PORT_TAKEN_EXIT_CODE = 3


def port_free(*, host: str, port: int) -> tuple[bool, str]:
    """Binds HOST:PORT the way runserver does (SO_REUSEADDR) and lets go at once."""
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return False, f"cannot resolve {host!r}: {exc.strerror}"
    family, socktype, proto, _, address = infos[0]
    with socket.socket(family, socktype, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False, "already in use (is another `make run` still serving?)"
            return False, exc.strerror or str(exc)
    return True, ""


class Command(BaseCommand):
    help = "Exit 3 with a clear message when HOST:PORT cannot be bound (checked before migrate/seed)."

    def add_arguments(self, parser):
        parser.add_argument("address", help="HOST:PORT, e.g. 127.0.0.1:8000")

    def handle(self, *args, address, **options):
        host, sep, port_text = address.rpartition(":")
        if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise CommandError(f"{address!r} is not HOST:PORT with a port from 1 to 65535.", returncode=2)
        free, reason = port_free(host=host or "127.0.0.1", port=int(port_text))
        if not free:
            raise CommandError(
                f"Cannot serve on {address}: {reason}. Nothing was changed. "
                f"Stop the other server or pick another port: make run PORT={int(port_text) + 1}",
                returncode=PORT_TAKEN_EXIT_CODE,
            )
