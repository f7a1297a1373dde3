"""The literal-credential check runs in linear time on any plan string (same class as issue 21, finding 5).

Each input made one pattern restart its scan from every position (quadratic): 64 KiB took 2 to
30 s, and a plan may be 5 MiB. The bound asserted is generous; the verdict is asserted exactly.
"""

from __future__ import annotations

import time

import pytest

from vault.literals import literal_problem

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.mark.parametrize(
    ("name", "text", "verdict"),
    [
        ("jwt_runs", "eyJ-" * 16_000, None),  # every eyJ after '-' was a new start
        ("jwt_runs_then_a_jwt", "eyJ-" * 16_000 + " " + JWT, "a JWT"),
        ("aos_key_runs", "aos_-" * 13_000, None),  # the key's lookaheads scanned to the end from each start
        ("query_names", "://x" + "?a" * 32_000, None),  # each '?' scanned to the end looking for '='
        ("open_references", "{{" * 16_000, None),  # each '{{' scanned to the end looking for '}}'
        ("open_references_then_a_token", "{{ a" * 16_000 + " ghp_" + "A1b2C3d4E5" * 4, "a GitHub token"),
    ],
)
def test_it_checks_adversarial_strings_in_linear_time(name, text, verdict):
    started = time.perf_counter()
    problem = literal_problem(text, sensitive_key=False)
    seconds = time.perf_counter() - started
    assert seconds < 2.0, f"{name}: {seconds:.2f}s"
    if verdict is None:
        assert problem is None
    else:
        assert problem is not None and verdict in problem


def test_it_still_reads_references_out_of_a_literal():
    assert literal_problem("Bearer {{ secrets.TOKEN }}", sensitive_key=False) is None
    assert literal_problem("{{ secrets.PW }}", sensitive_key=True) is None
    assert literal_problem("https://api.example.com/?token=" + "{{ secrets.T }}", sensitive_key=False) is None
