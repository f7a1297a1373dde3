"""An identity provider in miniature: key pairs made in the test, JWKS served on 127.0.0.1."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.servers import LocalServer

ISSUER = "http://127.0.0.1/realms/aos"
AUDIENCE = "aos-control-plane"


class TestIdP:
    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.add_key()
        self.server = LocalServer(self._handle)

    def add_key(self) -> str:
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    @property
    def current_kid(self) -> str:
        return list(self.keys)[-1]

    def _handle(self, method, path, headers, body):
        jwks = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
            jwks.append(jwk)
        return 200, {}, {"keys": jwks}

    @property
    def jwks_url(self) -> str:
        return f"{self.server.url}/jwks"

    @property
    def jwks_fetches(self) -> int:
        return len(self.server.requests)

    def token(self, kid: str | None = None, key=None, **claims: Any) -> str:
        kid = kid or self.current_kid
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300, **claims}
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.keys[kid], algorithm="RS256", headers={"kid": kid})
