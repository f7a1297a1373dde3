# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""The mismatch page (issue 19, items 5, 6 and 9): its actions, its links, and what it shares with the group page."""

from __future__ import annotations

import pytest

from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.services import mismatch_record

LIST = "/admin/triage/mismatch/"
GROUPS = "/admin/triage/mismatchgroup/"
SIDES = "admin/triage/includes/sides.html"


@pytest.fixture
def quiet(settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""


def diverged(trace, step_index=1, **details):
    details = {"expected": {"n": 1}, "actual": {"n": 2}, **details}
    return mismatch_record(
        trace=trace, step_index=step_index, reason="output_mismatch", reported_by="replay", details=details
    )


@pytest.mark.parametrize("source", ["replay", "api"])
def test_it_draws_both_pages_expected_vs_actual_from_one_include(tenant_a, alice, client, quiet, source):
    details = {"expected": {"n": 1}, "actual": {"n": 2}} if source == "replay" else {}
    mismatch = mismatch_record(
        trace=make_trace(tenant_a),
        step_index=1,
        reason="output_mismatch",
        reported_by="r",
        source=source,
        details=details,
    )
    client.force_login(alice)
    for url, prefix in (
        (f"{LIST}{mismatch.pk}/change/", "mismatch"),
        (f"{GROUPS}{mismatch.group_id}/change/", "group"),
    ):
        response = client.get(url)
        html = response.content.decode()
        assert SIDES in [t.name for t in response.templates], url
        assert "triage/sides.css" in html and ".aos-sides {" not in html, url  # one stylesheet, no copy inline
        if source == "api":
            assert f'id="{prefix}-reported-via-api"' in html and "Actual (replay)" not in html, url
        else:
            assert "Actual (replay)" in html and '<span class="line changed">  &quot;n&quot;: 2</span>' in html, url
