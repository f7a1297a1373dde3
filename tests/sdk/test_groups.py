"""Mismatch groups through the SDK and the `aos` CLI, against a live server (PRODUCT.md §15).

Groups are made the way the product makes them: an ingested trace whose recorded output is not what
the skill computes, replayed (a real divergence), or a mismatch reported through the API.
"""
# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest

from accounts.models import Role
from aos_sdk import (
    GROUP_STATUS_FILTERS,
    RESOLUTION_KINDS,
    AOSClient,
    ConflictError,
    MismatchGroup,
    NotFoundError,
    PermissionDeniedError,
    Trace,
    ValidationError,
)
from tests.sdk.conftest import BIN, ROOT, key, sdk_client
from tests.triage.github_standin import github, github_on  # noqa: F401 - fixtures
from triage.models import Mismatch as MismatchRow
from triage.models import MismatchGroup as GroupRow

AOS = str(BIN / "aos")


def diverged(aos: AOSClient, *, agent: str, x: int, recorded: object = "wrong") -> str:
    """Ingests a trace recording `{"y": recorded}` where json_transform computes `{"y": x}`, replays
    it (it diverges at step 0: output_mismatch) and returns the replay's mismatch id. One plan per `x`,
    so one group per `x`; the same `x` again joins the same group."""
    params = {"payload": {"x": x}, "mapping": {"y": "x"}}
    trace = Trace(plan=[{"skill": "json_transform", "params": params}], seed=1, agent_id=agent)
    trace.add_step(skill="json_transform", params=params, output={"y": recorded})
    aos.ingest_trace(trace)
    result = aos.replay(trace.trace_id, mode="recorded")
    assert not result.parity and result.mismatch_id, result.raw
    return result.mismatch_id


def group_of(mismatch_id: str) -> int:
    return MismatchRow.objects.get(pk=mismatch_id).group_id


class CountingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return super().handle_request(request)


# -- the client ------------------------------------------------------------------------------------


def test_it_lists_filters_and_pages_groups_most_recently_seen_first(live_server, tenant_a, aos_op):
    first = group_of(diverged(aos_op, agent="agent-a", x=1))
    second = group_of(diverged(aos_op, agent="agent-b", x=2))
    third = group_of(diverged(aos_op, agent="agent-a", x=3))
    again = group_of(diverged(aos_op, agent="agent-a", x=1))  # the first group, seen again
    assert again == first and len({first, second, third}) == 3
    reported = aos_op.run([{"skill": "json_transform", "params": {"payload": {"x": 9}, "mapping": {"y": "x"}}}])
    api = aos_op.report_mismatch(reported.trace_id, step_index=0, reason="status_mismatch")
    by_api = group_of(api.mismatch_id)

    groups = list(aos_op.mismatch_groups())
    assert [g.id for g in groups] == [by_api, first, third, second]  # last_seen, newest first
    assert all(isinstance(g, MismatchGroup) for g in groups)
    one = next(g for g in groups if g.id == first)
    assert (one.status, one.count, one.affected_traces, one.step_index) == ("unresolved", 2, 2, 0)
    assert (one.skill_id, one.reason, one.agent_id) == ("json_transform", "output_mismatch", "agent-a")
    assert one.tenant == "tenant-a"
    assert one.first_seen and one.last_seen and one.last_seen >= one.first_seen and one.last_trace_id
    assert one.resolution_kind is None and one.issue_url is None and not one.resolved
    assert one.events == [] and one.latest_diff is None  # list items carry no detail

    assert {g.id for g in aos_op.mismatch_groups(agent="agent-a")} == {first, third}
    assert [g.id for g in aos_op.mismatch_groups(reason="status_mismatch")] == [by_api]
    assert len(list(aos_op.mismatch_groups(skill="json_transform"))) == 4
    assert list(aos_op.mismatch_groups(skill="http_call")) == []
    assert len(list(aos_op.mismatch_groups(status="unresolved"))) == 4
    assert list(aos_op.mismatch_groups(status="resolved")) == []
    assert GROUP_STATUS_FILTERS == ("unresolved", "resolved", "regressed", "open")
    aos_op.resolve_mismatch_group(second, kind="fixed", note="pinned")
    GroupRow.objects.filter(pk=third).update(status="regressed")
    assert [g.id for g in aos_op.mismatch_groups(status="open")] == [by_api, first, third]  # not the resolved one
    assert [g.id for g in aos_op.mismatch_groups(status="regressed")] == [third]

    transport = CountingTransport()
    with sdk_client(live_server.url, key(tenant_a, Role.VIEWER), transport=transport) as viewer:
        paged = [g.id for g in viewer.mismatch_groups(page_size=2)]
        assert paged == [by_api, first, third, second]
        assert len(transport.urls) == 2 and "cursor=" in transport.urls[1]
        assert [g.id for g in viewer.mismatch_groups(page_size=1, max_items=3)] == [by_api, first, third]


def test_it_reads_a_group_with_its_latest_diff_and_timeline(aos_op, aos_viewer):
    mismatch = diverged(aos_op, agent="detail", x=5, recorded=6)
    group_id = group_of(mismatch)
    group = aos_viewer.mismatch_group(group_id)
    assert isinstance(group, MismatchGroup) and group.id == group_id and group.count == 1
    assert group.latest_mismatch is not None and group.latest_mismatch.id == mismatch
    assert group.latest_mismatch.group_id == group_id and group.latest_mismatch.reported_via == "replay"
    diff = group.latest_diff
    assert diff is not None and diff.reported_via == "replay" and not diff.identical
    assert diff.differences == [{"path": "y", "a": "6", "b": "5"}]
    assert any(line.changed and "6" in line.text for line in diff.expected_lines)
    assert diff.actual_lines is not None and any(line.changed and "5" in line.text for line in diff.actual_lines)
    assert [e.kind for e in group.events] == ["reported"] and group.events[0].mismatch_id == mismatch

    run = aos_op.run([{"skill": "json_transform", "params": {"payload": {"x": 8}, "mapping": {"y": "x"}}}])
    api = aos_op.report_mismatch(run.trace_id, step_index=0, reason="output_mismatch")
    via_api = aos_viewer.mismatch_group(group_of(api.mismatch_id))
    assert via_api.latest_diff is not None and via_api.latest_diff.reported_via == "api"
    assert via_api.latest_diff.actual_lines is None  # no replayed side


def test_it_resolves_a_group_once_and_a_regression_reopens_it(aos_op):
    group_id = group_of(diverged(aos_op, agent="resolver", x=11))
    done = aos_op.resolve_mismatch_group(group_id, kind="fixed", note="pinned the mapping")
    assert (done.status, done.resolution_kind, done.resolution_note) == ("resolved", "fixed", "pinned the mapping")
    assert done.resolved and done.resolved_by and done.resolved_at
    assert [e.kind for e in done.events] == ["reported", "resolved"]
    assert MismatchRow.objects.filter(group_id=group_id, resolved=False).count() == 0
    assert [g.id for g in aos_op.mismatch_groups(status="resolved")] == [group_id]

    with pytest.raises(ConflictError) as again:
        aos_op.resolve_mismatch_group(group_id, kind="duplicate", note="twice")
    assert (again.value.status_code, again.value.code) == (409, "conflict")
    assert GroupRow.objects.get(pk=group_id).resolution_kind == "fixed"  # the first resolution stands

    diverged(aos_op, agent="resolver", x=11)  # resolved as fixed, diverges again: a regression
    regressed = aos_op.mismatch_group(group_id)
    assert (regressed.status, regressed.count) == ("regressed", 2)
    assert [e.kind for e in regressed.events] == ["reported", "resolved", "reported", "reopened"], regressed.raw
    assert aos_op.resolve_mismatch_group(group_id, kind="flaky_skill", note="second time").status == "resolved"


def test_it_accepts_every_resolution_kind_the_sdk_names(aos_op):
    assert RESOLUTION_KINDS == ("fixed", "accepted_nondeterminism", "flaky_skill", "infrastructure", "duplicate")
    for x, kind in enumerate(RESOLUTION_KINDS, start=20):
        group_id = group_of(diverged(aos_op, agent="kinds", x=x))
        assert aos_op.resolve_mismatch_group(group_id, kind=kind, note=f"as {kind}").resolution_kind == kind


def test_it_refuses_a_bad_kind_an_empty_note_a_viewer_and_another_tenant(aos_op, aos_viewer, aos_b):
    group_id = group_of(diverged(aos_op, agent="refused", x=31))
    with pytest.raises(ValidationError) as bad_kind:
        aos_op.resolve_mismatch_group(group_id, kind="wontfix", note="no")  # type: ignore[arg-type]
    assert bad_kind.value.status_code == 400 and "kind" in bad_kind.value.fields
    for note in ("", "   "):
        with pytest.raises(ValidationError) as empty:
            aos_op.resolve_mismatch_group(group_id, kind="fixed", note=note)
        assert list(empty.value.fields) == ["note"]
    with pytest.raises(PermissionDeniedError) as denied:
        aos_viewer.resolve_mismatch_group(group_id, kind="fixed", note="a viewer")
    assert denied.value.status_code == 403
    with pytest.raises(NotFoundError):
        aos_b.mismatch_group(group_id)  # another tenant's group is absent, not forbidden
    with pytest.raises(NotFoundError):
        aos_b.resolve_mismatch_group(group_id, kind="fixed", note="not mine")
    assert list(aos_b.mismatch_groups()) == []
    with pytest.raises(NotFoundError):
        aos_op.mismatch_group(group_id + 1000)
    with pytest.raises(ValidationError) as bad_status:
        list(aos_op.mismatch_groups(status="sleeping"))  # type: ignore[arg-type]
    assert "status" in bad_status.value.fields
    assert GroupRow.objects.get(pk=group_id).status == "unresolved"


def test_it_shows_the_groups_issue_and_resolving_closes_it_with_the_kind_and_note(aos_op, github_on):
    """One GitHub issue per group (the GitHub stand-in): the SDK shows it, resolving comments and closes it."""
    group_id = group_of(diverged(aos_op, agent="github", x=61))
    group_of(diverged(aos_op, agent="github", x=61))  # the same group: a comment, not a second issue
    group = aos_op.mismatch_group(group_id)
    assert group.count == 2 and group.issue_url and group.issue_number
    assert [g.issue_url for g in aos_op.mismatch_groups(agent="github")] == [group.issue_url]
    assert "notified" in [e.kind for e in group.events]
    (issue,) = github_on.created_issues()
    assert issue["number"] == group.issue_number and issue["state"] == "open"

    done = aos_op.resolve_mismatch_group(group_id, kind="infrastructure", note="the sandbox lost its clock")
    assert done.status == "resolved" and done.issue_url == group.issue_url
    (issue,) = github_on.created_issues()
    assert issue["state"] == "closed"
    last = str(issue["comments"][-1])
    assert "infrastructure" in last.lower() and "the sandbox lost its clock" in last


# -- the CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def cli(live_server, tenant_a):
    env = {**os.environ, "AOS_BASE_URL": live_server.url, "COLUMNS": "250"}
    keys = {role: key(tenant_a, role) for role in (Role.OPERATOR, Role.VIEWER)}

    def call(*args, expect=0, role=Role.OPERATOR, api_key=None):
        result = subprocess.run(
            [AOS, *args],
            env={**env, "AOS_API_KEY": api_key or keys[role]},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert result.returncode == expect, (args, result.returncode, result.stdout, result.stderr)
        return result

    return call


def test_the_cli_lists_shows_and_resolves_groups(cli, aos_op):
    mismatch = diverged(aos_op, agent="cli-agent", x=41, recorded=42)
    group_id = group_of(mismatch)
    other = group_of(diverged(aos_op, agent="cli-other", x=43))

    table = cli("groups", "--status", "unresolved").stdout
    assert "mismatch groups" in table and "output_mismatch" in table and "cli-agent" in table
    for column in ("status", "count", "traces", "step", "skill", "last seen"):
        assert column in table
    listed = json.loads(cli("groups", "--json").stdout)
    assert [g["id"] for g in listed] == [other, group_id] and listed[1]["count"] == 1
    assert [g["id"] for g in json.loads(cli("groups", "--agent", "cli-agent", "--json").stdout)] == [group_id]
    assert [g["id"] for g in json.loads(cli("groups", "--limit", "1", "--json").stdout)] == [other]
    assert json.loads(cli("groups", "--status", "resolved", "--json").stdout) == []
    assert [g["id"] for g in json.loads(cli("groups", "--status", "open", "--json").stdout)] == [other, group_id]

    shown = cli("group", str(group_id)).stdout
    assert f"mismatch group {group_id}" in shown
    assert "diverged at step 0 (json_transform): output_mismatch" in shown
    assert f"latest mismatch: {mismatch}" in shown and "latest diff (reported via replay)" in shown
    assert "differences" in shown and "timeline" in shown and "reported" in shown
    detail = json.loads(cli("group", str(group_id), "--json").stdout)
    assert detail["latest_diff"]["differences"] == [{"path": "y", "a": "42", "b": "41"}]
    assert [e["kind"] for e in detail["events"]] == ["reported"]

    note = "the clock [skip ci] [/]"  # shown as written, not read as rich markup
    done = cli("resolve-group", str(group_id), "--kind", "accepted_nondeterminism", "--note", note).stdout
    assert f"resolved group {group_id} as accepted_nondeterminism by" in done and "(1 mismatch)" in done
    assert GroupRow.objects.get(pk=group_id).resolution_note == note
    resolved = cli("group", str(group_id)).stdout
    assert note in resolved and "accepted_nondeterminism" in resolved
    assert [line for line in resolved.splitlines() if "│ resolved " in line], resolved  # the timeline's event
    assert [g["id"] for g in json.loads(cli("groups", "--status", "resolved", "--json").stdout)] == [group_id]
    assert [g["id"] for g in json.loads(cli("groups", "--status", "open", "--json").stdout)] == [other]
    resolved_json = json.loads(cli("resolve-group", str(other), "--kind", "fixed", "--note", "x", "--json").stdout)
    assert resolved_json["status"] == "resolved" and resolved_json["resolution_kind"] == "fixed"

    again = cli("resolve-group", str(group_id), "--kind", "fixed", "--note", "twice", "--json", expect=2)
    assert json.loads(again.stdout)["error"] == "conflict" and "409 conflict" in again.stderr


def test_the_cli_exits_2_with_a_clear_error(cli, aos_op, tenant_b):
    group_id = group_of(diverged(aos_op, agent="cli-errors", x=51))
    bad_kind = cli("resolve-group", str(group_id), "--kind", "wontfix", "--note", "n", expect=2)
    assert "Invalid value for '--kind'" in bad_kind.stderr and "accepted_nondeterminism" in bad_kind.stderr
    assert "Missing option '--note'" in cli("resolve-group", str(group_id), "--kind", "fixed", expect=2).stderr
    assert "is not a valid integer" in cli("group", "abc", expect=2).stderr
    blank = cli("resolve-group", str(group_id), "--kind", "fixed", "--note", " ", "--json", expect=2)
    assert json.loads(blank.stdout)["fields"] == {"note": ["A note is required."]}
    assert "400 validation_error" in blank.stderr and "note: A note is required" in blank.stderr
    denied = cli("resolve-group", str(group_id), "--kind", "fixed", "--note", "n", role=Role.VIEWER, expect=2)
    assert "403 permission_denied" in denied.stderr
    foreign = key(tenant_b, Role.OPERATOR)
    assert "404 not_found" in cli("group", str(group_id), api_key=foreign, expect=2).stderr
    resolve = ("resolve-group", str(group_id), "--kind", "fixed", "--note", "n")
    assert "404 not_found" in cli(*resolve, api_key=foreign, expect=2).stderr
    assert "Invalid value for '--status'" in cli("groups", "--status", "sleeping", expect=2).stderr
    assert GroupRow.objects.get(pk=group_id).status == "unresolved"


def test_a_group_whose_traces_were_deleted_has_no_latest_diff(cli, aos_op):
    """Deleting the trace deletes its mismatch: the group stays, counted, without a latest mismatch."""
    mismatch = diverged(aos_op, agent="deleted", x=71)
    group_id = group_of(mismatch)
    aos_op.delete_trace(MismatchRow.objects.get(pk=mismatch).trace.trace_id)
    group = aos_op.mismatch_group(group_id)
    assert (group.count, group.latest_mismatch, group.latest_diff, group.last_trace_id) == (1, None, None, None)
    assert [e.kind for e in group.events] == ["reported"] and group.events[0].mismatch_id is None
    shown = cli("group", str(group_id)).stdout
    assert "latest diff: (no mismatch left in the group)" in shown and "latest mismatch:" not in shown
