"""A requests transport adapter that connects to one checked address (see docs/decisions/0016).

The URL keeps its host name, so the `Host` header, TLS SNI and certificate verification use the
name; only the TCP connection goes to the address `egress.destination_check` approved. Without
this, urllib3 would resolve the name again when it connects (DNS rebinding) and could read the
URL differently from the check.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from runtime.skills.egress import DEFAULT_PORTS, CheckedDestination, DestinationRefused


class PinnedAdapter(HTTPAdapter):
    def __init__(self, destination: CheckedDestination):
        super().__init__(max_retries=0)
        self.destination = destination

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        checked = self.destination
        # What requests is about to connect to, from its own parse of the prepared URL: it must be
        # exactly what was checked, or the check said nothing about this request.
        host = (host_params["host"] or "").strip("[]").lower()
        scheme = host_params["scheme"]
        port = host_params["port"] or DEFAULT_PORTS.get(scheme)
        if (scheme, host, port) != (checked.scheme, checked.host, checked.port):
            raise DestinationRefused(
                f"the HTTP client would connect to {scheme}://{host}:{port}, "
                f"not to the checked {checked.scheme}://{checked.host}:{checked.port}"
            )
        request.headers["Host"] = checked.host_header
        if scheme == "https":
            # Verify the certificate against the name (not the pinned address) and send it as SNI.
            pool_kwargs["server_hostname"] = checked.host
            pool_kwargs["assert_hostname"] = checked.host
        address = str(checked.address)
        host_params["host"] = f"[{address}]" if ":" in address else address
        return host_params, pool_kwargs


def pinned_session(destination: CheckedDestination) -> requests.Session:
    """A session that can only reach `destination.address`; no proxies or .netrc from the environment."""
    session = requests.Session()
    session.trust_env = False  # an env proxy would connect elsewhere; .netrc would add credentials
    adapter = PinnedAdapter(destination)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
