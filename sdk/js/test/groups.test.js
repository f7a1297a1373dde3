// Mismatch groups (PRODUCT.md §15) through AOSClient, against the live server of tests/sdk/test_js_sdk.py.
// Every group is made by a real diverged replay (helpers.divergedGroup); each test has its own agent and plans.
import assert from "node:assert/strict";
import { randomInt, randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import {
  AOSClient,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  RESOLUTION_KINDS,
  Trace,
  ValidationError,
} from "../dist/index.js";
import { LIVE, SKIP_LIVE, divergedGroup } from "./helpers.js";

const client = (role, options = {}) => new AOSClient({ baseUrl: LIVE.baseUrl, apiKey: LIVE.keys[role], timeoutMs: 15_000, ...options });
const agentName = (what) => `js-${what}-${randomUUID().slice(0, 8)}`;
const freshX = () => randomInt(1_000_000, 2_000_000_000); // a plan (hence a group) no other test shares

async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("mismatch groups against a live server", { skip: SKIP_LIVE }, () => {
  test("it lists groups as an async iterator, most recently seen first, filtered and paged", async () => {
    const aos = client("operator");
    const agent = agentName("groups");
    const x1 = freshX();
    const first = await divergedGroup(aos, Trace, { agent, x: x1 });
    const second = await divergedGroup(aos, Trace, { agent, x: freshX() });
    const third = await divergedGroup(aos, Trace, { agent, x: freshX() });
    const again = await divergedGroup(aos, Trace, { agent, x: x1 }); // the first group, seen again
    assert.equal(again.groupId, first.groupId);
    const elsewhere = await divergedGroup(aos, Trace, { agent: agentName("elsewhere"), x: freshX() });

    const urls = [];
    const fetch = (url, init) => {
      urls.push(String(url));
      return globalThis.fetch(url, init);
    };
    const viewer = client("viewer", { fetch });
    const groups = await collect(viewer.listMismatchGroups({ agent, pageSize: 1 }));
    assert.deepEqual(groups.map((g) => g.id), [first.groupId, third.groupId, second.groupId]);
    assert.equal(urls.length, 3, urls.join("\n"));
    assert.match(urls[0], /agent=js-groups-/);
    assert.match(urls[1], /cursor=/);
    assert.ok(!groups.some((g) => g.id === elsewhere.groupId));

    const one = groups[0];
    assert.deepEqual([one.status, one.count, one.affected_traces, one.step_index], ["unresolved", 2, 2, 0]);
    assert.deepEqual([one.skill_id, one.reason, one.agent_id, one.tenant], ["json_transform", "output_mismatch", agent, "tenant-a"]);
    assert.equal(one.last_trace_id, again.trace.traceId);
    assert.equal(one.resolution_kind, null);
    assert.equal(one.issue_url, null);
    assert.ok(one.last_seen >= one.first_seen);
    assert.equal("events" in one, false); // list items carry no detail

    assert.equal((await collect(aos.listMismatchGroups({ agent, maxItems: 2 }))).length, 2);
    assert.equal((await collect(aos.listMismatchGroups({ agent, status: "unresolved", skill: "json_transform", reason: "output_mismatch" }))).length, 3);
    assert.deepEqual(await collect(aos.listMismatchGroups({ agent, status: "resolved" })), []);
    assert.deepEqual(await collect(aos.listMismatchGroups({ agent, reason: "status_mismatch" })), []);
    assert.deepEqual(await collect(aos.listMismatchGroups({ agent, skill: "http_call" })), []);
  });

  test("it reads a group with its diverging step, latest diff and timeline", async () => {
    const aos = client("operator");
    const agent = agentName("detail");
    const x = freshX();
    const made = await divergedGroup(aos, Trace, { agent, x, recorded: 7 });
    const group = await client("viewer").getMismatchGroup(made.groupId);
    assert.deepEqual([group.id, group.status, group.count, group.step_index, group.reason], [made.groupId, "unresolved", 1, 0, "output_mismatch"]);
    assert.equal(group.latest_mismatch.id, made.mismatchId);
    assert.equal(group.latest_mismatch.trace_id, made.trace.traceId);
    assert.equal(group.latest_diff.reported_via, "replay");
    assert.equal(group.latest_diff.identical, false);
    assert.deepEqual(group.latest_diff.differences, [{ path: "y", a: "7", b: String(x) }]);
    assert.ok(group.latest_diff.expected_lines.some((line) => line.changed && line.text.includes("7")));
    assert.ok(group.latest_diff.actual_lines.some((line) => line.changed && line.text.includes(String(x))));
    assert.deepEqual(group.events.map((e) => [e.kind, e.mismatch_id]), [["reported", made.mismatchId]]);
  });

  test("it resolves a group once (409 the second time), and a new divergence after fixed reopens it", async () => {
    const aos = client("operator");
    const agent = agentName("resolve");
    const x = freshX();
    const made = await divergedGroup(aos, Trace, { agent, x });
    const done = await aos.resolveMismatchGroup(made.groupId, { kind: "fixed", note: "pinned the mapping" });
    assert.deepEqual([done.status, done.resolution_kind, done.resolution_note], ["resolved", "fixed", "pinned the mapping"]);
    assert.ok(done.resolved_by && done.resolved_at);
    assert.deepEqual(done.events.map((e) => e.kind), ["reported", "resolved"]);
    assert.equal((await collect(aos.listMismatches({ traceId: made.trace.traceId, resolved: false }))).length, 0);
    assert.deepEqual((await collect(aos.listMismatchGroups({ agent, status: "resolved" }))).map((g) => g.id), [made.groupId]);

    const twice = await aos.resolveMismatchGroup(made.groupId, { kind: "duplicate", note: "again" }).catch((e) => e);
    assert.ok(twice instanceof ConflictError, String(twice));
    assert.deepEqual([twice.status, twice.code], [409, "conflict"]);
    assert.equal((await aos.getMismatchGroup(made.groupId)).resolution_kind, "fixed"); // the first resolution stands

    await divergedGroup(aos, Trace, { agent, x }); // resolved as fixed, diverges again: a regression
    const regressed = await aos.getMismatchGroup(made.groupId);
    assert.deepEqual([regressed.status, regressed.count], ["regressed", 2]);
    assert.deepEqual(regressed.events.map((e) => e.kind), ["reported", "resolved", "reported", "reopened"]);
    assert.equal((await aos.resolveMismatchGroup(made.groupId, { kind: "flaky_skill", note: "second time" })).status, "resolved");
  });

  test("it resolves with every kind RESOLUTION_KINDS names", async () => {
    assert.deepEqual(RESOLUTION_KINDS, ["fixed", "accepted_nondeterminism", "flaky_skill", "infrastructure", "duplicate"]);
    const aos = client("operator");
    const agent = agentName("kinds");
    for (const kind of RESOLUTION_KINDS) {
      const { groupId } = await divergedGroup(aos, Trace, { agent, x: freshX() });
      const done = await aos.resolveMismatchGroup(groupId, { kind, note: `as ${kind}`, idempotencyKey: `js-${kind}-${randomUUID()}` });
      assert.deepEqual([done.status, done.resolution_kind, done.resolution_note], ["resolved", kind, `as ${kind}`]);
    }
  });

  test("it refuses a bad kind, an empty note, a viewer and another tenant's group", async () => {
    const aos = client("operator");
    const { groupId } = await divergedGroup(aos, Trace, { agent: agentName("refused"), x: freshX() });

    const badKind = await aos.resolveMismatchGroup(groupId, { kind: "wontfix", note: "no" }).catch((e) => e);
    assert.ok(badKind instanceof ValidationError, String(badKind));
    assert.equal(badKind.status, 400);
    assert.ok("kind" in badKind.fields, JSON.stringify(badKind.fields));
    for (const note of ["", "   "]) {
      const empty = await aos.resolveMismatchGroup(groupId, { kind: "fixed", note }).catch((e) => e);
      assert.ok(empty instanceof ValidationError, String(empty));
      assert.deepEqual(Object.keys(empty.fields), ["note"]);
    }
    const badStatus = await collect(aos.listMismatchGroups({ status: "sleeping" })).catch((e) => e);
    assert.ok(badStatus instanceof ValidationError && "status" in badStatus.fields, String(badStatus));
    // "open" is unresolved or regressed: what the admin's group list shows first.
    assert.ok((await collect(aos.listMismatchGroups({ status: "open" }))).some((g) => g.id === groupId));

    const denied = await client("viewer").resolveMismatchGroup(groupId, { kind: "fixed", note: "a viewer" }).catch((e) => e);
    assert.ok(denied instanceof PermissionDeniedError, String(denied));
    assert.equal(denied.status, 403);

    const other = client("other_tenant"); // another tenant's group is absent, not forbidden
    await assert.rejects(other.getMismatchGroup(groupId), NotFoundError);
    await assert.rejects(other.resolveMismatchGroup(groupId, { kind: "fixed", note: "not mine" }), NotFoundError);
    assert.ok(!(await collect(other.listMismatchGroups())).some((g) => g.id === groupId));
    await assert.rejects(aos.getMismatchGroup("../mismatches"), NotFoundError); // the id is one escaped segment
    assert.equal((await aos.getMismatchGroup(groupId)).status, "unresolved");
  });
});
