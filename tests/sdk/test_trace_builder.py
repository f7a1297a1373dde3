"""The SDK's Trace builder, verify, save/load and diff (pure; no server)."""

import json

import pytest

from aos_sdk import Trace, diff, hashing, verify
from aos_sdk.trace import load

VECTOR_PLAN = [{"skill": "json_transform", "params": {"payload": {"x": 1}, "mapping": {"y": "x"}}}]


def vector_trace() -> Trace:
    t = Trace(plan=VECTOR_PLAN, seed=42, timestamp="2025-01-01T00:00:00Z", trace_id="tr_vector")
    t.add_step(skill="json_transform", params=VECTOR_PLAN[0]["params"], output={"y": 1})
    return t


def test_it_builds_the_product_vector():
    data = vector_trace().finalise()
    assert data["plan_hash"] == "7da851c1e3bcfd2caf64f55bc462c92a423b22e539bfce1a43e7f59f5b5974f6"
    assert data["steps"][0]["step_hash"] == "0c154e2f9b01803282a182e0364a8f2e7ba09847dadcd27f0eb94e98d1537788"
    assert data["root_hash"] == "a7d865ab34ef189aa8d1bccf324d38492f59424c7f1d924ea3bffbeb64e09b5c"
    assert data["status"] == "succeeded"


def test_it_round_trips_a_saved_trace_and_verifies_it(tmp_path):
    path = vector_trace().save(tmp_path / "v.trace.json")
    loaded = Trace.load(path)
    assert loaded.verify() is None
    assert loaded.to_dict() == vector_trace().to_dict()


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d["steps"][1].__setitem__("output", {"y": 99}), "steps[1].output_hash"),
        (lambda d: d["steps"][0]["params"].__setitem__("payload", {"x": 2}), "steps[0].input_hash"),
        (lambda d: d["steps"][1].__setitem__("status", "failed"), "steps[1].step_hash"),
        (lambda d: d.__setitem__("root_hash", "0" * 64), "root_hash"),
        (lambda d: d.__setitem__("seed", 43), "root_hash"),
        (lambda d: d["plan"][0].__setitem__("skill", "llm_invoke"), "plan_hash"),
    ],
)
def test_it_names_the_first_hash_that_does_not_verify_after_tampering(tmp_path, edit, path):
    t = vector_trace()
    t.add_step(skill="json_transform", params={"payload": {"y": 1}, "query": "y"}, output=1)
    file = t.save(tmp_path / "t.trace.json")
    data = json.loads(file.read_text())
    edit(data)
    file.write_text(json.dumps(data))
    problem = Trace.load(file).verify()
    assert problem is not None and problem.path == path
    assert verify(load(file)).path == path


def test_it_reports_the_first_divergence_with_a_structural_diff():
    a = vector_trace()
    b = Trace(plan=VECTOR_PLAN, seed=42, timestamp="2025-01-01T00:00:00Z")
    b.add_step(skill="json_transform", params=VECTOR_PLAN[0]["params"], output={"y": 2, "z": True})
    result = diff(a.to_dict(), b.to_dict())
    assert not result.match
    first = result.first_divergence
    assert (first.step_index, first.reason) == (0, "output_mismatch")
    assert {"path": "output.y", "a": 1, "b": 2} in first.diff
    assert {"path": "output.z", "a": "<missing>", "b": True} in first.diff
    assert diff(a.to_dict(), vector_trace().to_dict()).match


def test_it_reports_a_step_count_mismatch():
    a, b = vector_trace(), vector_trace()
    b.add_step(skill="json_transform", params={"payload": 1, "query": "@"}, output=1)
    first = diff(a.to_dict(), b.to_dict()).first_divergence
    assert (first.step_index, first.reason, first.a, first.b) == (1, "step_count_mismatch", 1, 2)


def test_it_shares_one_structural_diff_with_the_server():
    from aos_sdk.diff import structural_diff
    from runtime import comparison, engine
    from traces import diff as server_diff

    assert server_diff.structural_diff is structural_diff
    assert comparison.structural_diff is structural_diff  # replay comparison (moved out of the engine)
    assert engine.hashing is hashing


def test_it_refuses_a_file_that_is_not_a_trace(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a trace"):
        load(path)
