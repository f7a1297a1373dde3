"""An identity provider in miniature: key pairs made in the test, JWKS served on 127.0.0.1.

`hang_seconds` makes the JWKS endpoint answer that late (a slow or stuck provider); `release()`
lets hanging requests finish at once (teardown).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.servers import LocalServer

ISSUER = "http://127.0.0.1/realms/aos"
AUDIENCE = "aos-control-plane"


class TestIdP:
    __test__ = False  # a helper, not a test class

    def __init__(self, hang_seconds: float = 0.0) -> None:
        self.keys: dict[str, Any] = {}
        self.hang_seconds = hang_seconds
        self._released = threading.Event()
        self.add_key()
        self.server = LocalServer(self._handle)

    def add_key(self) -> str:
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def add_ec_key(self) -> str:
        kid = "ec-" + uuid.uuid4().hex[:9]
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return kid

    def release(self) -> None:
        self._released.set()

    @property
    def current_kid(self) -> str:
        return list(self.keys)[-1]

    def _handle(self, method, path, headers, body):
        if self.hang_seconds:
            self._released.wait(self.hang_seconds)
        jwks = []
        for kid, key in self.keys.items():
            if isinstance(key, ec.EllipticCurvePrivateKey):
                jwk = {**json.loads(ECAlgorithm.to_jwk(key.public_key())), "alg": "ES256"}
            else:
                jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "alg": "RS256"}
            jwk.update({"kid": kid, "use": "sig"})
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
        own = self.keys.get(kid)
        algorithm = "ES256" if isinstance(key or own, ec.EllipticCurvePrivateKey) else "RS256"
        return jwt.encode(payload, key or own, algorithm=algorithm, headers={"kid": kid})
