// The Trace builder, verifyTrace (names the first bad hash) and diffTraces (first divergence).
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { diffTraces, HashError, loadTrace, structuralDiff, Trace, utcTimestamp, verifyTrace } from "../dist/index.js";

const PLAN = [{ skill: "json_transform", params: { payload: { x: 1 }, mapping: { y: "x" } } }];

function threeSteps() {
  const trace = new Trace({ plan: [PLAN[0], PLAN[0], PLAN[0]], seed: 42, timestamp: "2025-01-01T00:00:00Z", traceId: "tr_js_three" });
  for (let i = 0; i < 3; i++) trace.addStep({ skill: "json_transform", params: PLAN[0].params, output: { y: 1 }, durationMs: 3 });
  return trace;
}

test("it builds the PRODUCT.md §3 trace and verifies it", () => {
  const trace = new Trace({ plan: PLAN, seed: 42, timestamp: "2025-01-01T00:00:00Z" });
  const step = trace.addStep({ skill: "json_transform", params: PLAN[0].params, output: { y: 1 } });
  assert.equal(step.step_hash, "0c154e2f9b01803282a182e0364a8f2e7ba09847dadcd27f0eb94e98d1537788");
  const payload = trace.finalise();
  assert.equal(payload.root_hash, "a7d865ab34ef189aa8d1bccf324d38492f59424c7f1d924ea3bffbeb64e09b5c");
  assert.equal(payload.status, "succeeded");
  assert.match(payload.trace_id, /^tr_[0-9a-f]{32}$/);
  assert.equal(verifyTrace(payload), null);
  assert.equal(verifyTrace(trace), null);
  assert.deepEqual(JSON.parse(JSON.stringify(trace)), payload);
});

test("it names the first tampered step, field by field", () => {
  const good = threeSteps().toJSON();
  const output = structuredClone(good);
  output.steps[1].output = { y: 2 };
  const error = verifyTrace(output);
  assert.ok(error instanceof HashError);
  assert.equal(error.path, "steps[1].output_hash");
  assert.equal(error.stepIndex, 1);
  assert.equal(error.got, good.steps[1].output_hash);
  assert.match(String(error), /steps\[1\]\.output_hash is ".*" but the content hashes to [0-9a-f]{64}/);

  const params = structuredClone(good);
  params.steps[2].params.payload.x = 5;
  params.steps[0].status = "failed"; // the earlier step is the one named
  assert.equal(verifyTrace(params).path, "steps[0].step_hash");

  const plan = structuredClone(good);
  plan.plan[0].params.mapping = { z: "x" };
  assert.equal(verifyTrace(plan).path, "plan_hash");

  const root = structuredClone(good);
  root.root_hash = "0".repeat(64);
  assert.equal(verifyTrace(root).path, "root_hash");

  const stepHashOnly = structuredClone(good);
  stepHashOnly.steps[2].step_hash = "f".repeat(64);
  assert.deepEqual([verifyTrace(stepHashOnly).field, verifyTrace(stepHashOnly).stepIndex], ["step_hash", 2]);
});

test("it keeps the stored hashes of a loaded trace so tampering in the file is caught", () => {
  const dir = mkdtempSync(join(tmpdir(), "aos-js-"));
  const path = threeSteps().save(join(dir, "three.trace.json"));
  const loaded = Trace.load(path);
  assert.equal(loaded.verify(), null);
  const data = loadTrace(path);
  data.steps[0].output = { y: 9 };
  assert.equal(Trace.fromJSON(data).verify().path, "steps[0].output_hash");
  assert.throws(() => loadTrace(join(dir, "missing.json")), /ENOENT/);
});

test("it derives a plan from the steps when none is given, and a failed status", () => {
  const trace = new Trace({ seed: 1, timestamp: utcTimestamp(new Date("2025-01-01T00:00:00.123Z")) });
  assert.equal(trace.timestamp, "2025-01-01T00:00:00.123000Z");
  trace.addStep({ skill: "json_transform", params: { payload: {}, query: "a" }, output: null, status: "failed", errorCode: "ERR_X" });
  assert.deepEqual(trace.plan, [{ skill: "json_transform", params: { payload: {}, query: "a" } }]);
  assert.equal(trace.finalise().status, "failed");
  assert.throws(() => new Trace({ seed: 0.5 }), /seed must be an integer/);
});

test("it reports the first divergence of two traces like the server's compare", () => {
  const a = threeSteps().toJSON();
  assert.deepEqual(diffTraces(a, structuredClone(a)), { match: true, first_divergence: null, differences: [] });

  const b = threeSteps();
  b.steps = b.steps.slice(0, 1);
  b.addStep({ skill: "json_transform", params: PLAN[0].params, output: { y: 2 } });
  const diff = diffTraces(a, b.toJSON());
  assert.equal(diff.match, false);
  assert.equal(diff.first_divergence.step_index, 1);
  assert.equal(diff.first_divergence.reason, "output_mismatch");
  assert.ok(diff.first_divergence.diff.some((d) => d.path === "output.y" && d.a === 1 && d.b === 2));
  assert.ok(diff.differences.some((d) => d.path === "root_hash"));

  const shorter = threeSteps();
  shorter.steps.pop();
  const count = diffTraces(a, shorter.toJSON()).first_divergence;
  assert.deepEqual([count.step_index, count.reason, count.a, count.b], [2, "step_count_mismatch", 3, 2]);

  const skill = structuredClone(a);
  skill.steps[0].skill = "http_call";
  assert.equal(diffTraces(a, skill).first_divergence.reason, "skill_mismatch");
});

test("it diffs JSON structurally with <missing> for one-sided keys, in code point order", () => {
  assert.deepEqual(structuralDiff({ b: 1, a: [1, 2] }, { a: [1], c: null }), [
    { path: "a[1]", a: 2, b: "<missing>" },
    { path: "b", a: 1, b: "<missing>" },
    { path: "c", a: "<missing>", b: null },
  ]);
  assert.deepEqual(structuralDiff(1, "1"), [{ path: "$", a: 1, b: "1" }]);
  // Python sorts keys by code point: U+FB33 before U+1F600 (UTF-16 order would put the emoji first).
  assert.deepEqual(structuralDiff({ "\u{1F600}": 1, "\uFB33": 1 }, {}).map((d) => d.path), ["\uFB33", "\u{1F600}"]);
  assert.equal(structuralDiff(Array.from({ length: 300 }, (_, i) => i), [], "", 200).length, 200);
});
