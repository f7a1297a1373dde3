"""The one-scan pre-check of vault.literals finds a shape exactly where one of the patterns does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vault.literals import _ANY_SHAPE, _SHAPES, literal_problem

PIECES = [
    "ghp_", "github_pat_", "xoxb-", "hooks.slack.com/services/", "AKIA", "ASIA", "aos_", "eyJ", ".", "Bearer ",
    "bearer\\t", "BASIC ", "basic ", "dXNlcjpwYXNz", "://", "u:p@", "-----BEGIN RSA PRIVATE KEY-----", "A", "z",
    "0", "9", "_", "-", " ", "=", "/", "{{ x }}", "é",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=14).map("".join)


@settings(max_examples=2000, deadline=None)
@given(text=texts)
def test_it_matches_where_a_pattern_matches(text):
    assert (_ANY_SHAPE.search(text) is not None) == any(p.search(text) for _, p, _ in _SHAPES), text


def test_it_still_finds_every_shape():
    samples = {
        "a GitHub token": "ghp_" + "a1B2" * 6,
        "an AWS access key": "AKIA" + "ABCDEFGH12345678",
        "a bearer token": "Authorization: BEARER abcdefgh12345678",
        "basic-auth credentials": "basic dXNlcjpwYXNzd29yZA==",
        "a password in a URL": "https://user:secret@example.com/",
    }
    for kind, text in samples.items():
        problem = literal_problem(text, sensitive_key=False)
        assert problem is not None and kind in problem, (kind, problem)
    assert literal_problem("bearer authentication is described here", sensitive_key=False) is None
