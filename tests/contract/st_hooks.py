"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by tests/contract/fuzz.py).

The schema marks JMESPath strings `format: jmespath` (json_transform's `query` and `mapping` values)
and pagination cursors `format: cursor`; validators ignore unknown formats, so a generator needs to
be told what a valid one looks like (a cursor the API did not issue is a 400, as documented).
"""

from __future__ import annotations

import base64
from datetime import UTC
from urllib.parse import urlencode

import schemathesis
from hypothesis import strategies as st

_FIELDS = st.sampled_from(["a", "b", "x", "price", "items", "usd", "name"])
_PATHS = st.lists(_FIELDS, min_size=1, max_size=3).map(".".join)
JMESPATH = st.one_of(
    st.sampled_from(["@", "*", "[0]", "[*]", "length(@)", "keys(@)", "to_string(@)", "[?a]"]),
    _PATHS,
    _PATHS.map(lambda p: f"{p}[0]"),
    st.tuples(_PATHS, _PATHS).map(lambda pq: f"{{first: {pq[0]}, second: {pq[1]}}}"),
)

schemathesis.openapi.format("jmespath", JMESPATH)

# `format: cursor`: a position as the API's cursor pagination encodes it (created_at, newest first).
CURSOR = st.datetimes(timezones=st.just(UTC)).map(
    lambda when: base64.b64encode(urlencode({"p": str(when)}).encode()).decode()
)
schemathesis.openapi.format("cursor", CURSOR)
