// AOSClient against the project's own server, started with a fresh database by tests/sdk/test_js_sdk.py.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import {
  AOSClient,
  AuthenticationError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  Trace,
  ValidationError,
  verifyTrace,
} from "../dist/index.js";
import { LIVE, PLAN, SKIP_LIVE } from "./helpers.js";

const client = (role, options = {}) => new AOSClient({ baseUrl: LIVE.baseUrl, apiKey: LIVE.keys[role], timeoutMs: 15_000, ...options });

/** A fetch that counts the GETs it sends, to see the pages being followed. */
function countingFetch() {
  const urls = [];
  const fetch = (url, init) => {
    urls.push(`${init.method} ${new URL(url).pathname}${new URL(url).search}`);
    return globalThis.fetch(url, init);
  };
  return { urls, fetch };
}

async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("the client against a live server", { skip: SKIP_LIVE }, () => {
  test("it reads health, me, skills, a skill and capabilities", async () => {
    const aos = client("developer");
    assert.equal((await aos.health()).status, "ok");
    const me = await aos.me();
    assert.deepEqual([me.tenant, me.role, me.method], ["tenant-a", "developer", "api_key"]);
    const skills = await aos.skills();
    assert.ok(skills.some((s) => s.id === "json_transform"));
    assert.equal((await aos.skill("json_transform")).id, "json_transform");
    const caps = await aos.capabilities();
    assert.equal(caps.tenant, "tenant-a");
    assert.ok(caps.skills.includes("json_transform"));
  });

  test("it authenticates with a bearer token from the identity provider", async () => {
    const aos = new AOSClient({ baseUrl: LIVE.baseUrl, token: LIVE.token });
    const me = await aos.me();
    assert.deepEqual([me.tenant, me.method, me.roles], ["tenant-a", "jwt", ["developer"]]);
    assert.equal((await aos.simulate(PLAN)).feasible, true);
    assert.throws(() => new AOSClient({ baseUrl: LIVE.baseUrl, token: "t", apiKey: "aos_x" }), /not both/);
  });

  test("it simulates, runs, waits, gets and replays, with the root hash the JS Trace computes", async () => {
    const aos = client("developer");
    const simulation = await aos.simulate(PLAN, { seed: 42, save_trace: true });
    assert.equal(simulation.feasible, true);
    assert.match(simulation.trace_id, /^sim_/);

    const timestamp = "2025-01-01T00:00:00Z";
    const run = await aos.run(PLAN, { seed: 42, timestamp, agent_id: "js-run" });
    assert.equal(run.status, "succeeded");
    assert.deepEqual(run.steps[0].output, { y: 1 });
    assert.equal(run.root_hash, "a7d865ab34ef189aa8d1bccf324d38492f59424c7f1d924ea3bffbeb64e09b5c"); // PRODUCT.md §3

    const queued = await aos.createRun(PLAN, { seed: 3, agent_id: "js-queued" });
    assert.ok(["queued", "running", "succeeded"].includes(queued.status));
    const finished = await aos.waitForRun(queued.run_id, { pollIntervalMs: 50, timeoutMs: 20_000 });
    assert.equal(finished.status, "succeeded");
    assert.equal((await aos.getRun(run.run_id)).trace_id, run.trace_id);

    const replay = await aos.replay(run.run_id, { mode: "recorded" });
    assert.equal(replay.parity, true);
    assert.equal(replay.original_run_id, run.run_id);
    assert.equal((await aos.replay(run.run_id, { dry_run: true })).replay_run_id, null);

    // The server's stored trace verifies locally and diffs clean against a JS-built one.
    const stored = await aos.getTrace(run.trace_id);
    assert.equal(verifyTrace(stored), null);
  });

  test("it follows cursor pages as an async iterator, filters and all", async () => {
    const aos = client("developer");
    const agent = `js-pages-${randomUUID().slice(0, 8)}`;
    const ids = [];
    for (let seed = 0; seed < 5; seed++) ids.push((await aos.run(PLAN, { seed, agent_id: agent })).run_id);
    const { urls, fetch } = countingFetch();
    const counted = client("developer", { fetch });
    const runs = await collect(counted.listRuns({ agent_id: agent, pageSize: 2 }));
    assert.deepEqual(new Set(runs.map((r) => r.run_id)), new Set(ids));
    assert.equal(urls.length, 3, urls.join("\n"));
    assert.match(urls[0], /agent_id=js-pages-.*&limit=2|limit=2.*agent_id=js-pages-/);
    assert.match(urls[1], /cursor=/);
    assert.equal((await collect(aos.listRuns({ agent_id: agent, pageSize: 2, maxItems: 3 }))).length, 3);
    const traces = await collect(aos.listTraces({ source: "run", agent_id: agent, pageSize: 4 }));
    assert.equal(traces.length, 5);
    assert.ok(traces.every((t) => t.source === "run"));
    assert.deepEqual(await collect(aos.listRuns({ agent_id: "nobody" })), []);
  });

  test("it ingests a JS-built trace the server re-hashes to the same root, then finds, compares and deletes it", async () => {
    const aos = client("operator");
    const params = { payload: { name: "Zoë 🚀 日本語", price: 97000.55, ratio: 2 / 3, big: 9007199254740991, tiny: 5e-324, nested: { b: [1, { a: null }] } }, mapping: { n: "name" } };
    const trace = new Trace({ plan: [{ skill: "json_transform", params }], seed: 7, timestamp: "2025-06-30T23:59:59.123456Z", traceId: `tr_js_${randomUUID().slice(0, 8)}` });
    trace.addStep({ skill: "json_transform", params, output: { n: "Zoë 🚀 日本語", "€": 1.5e15, "-0": -0 } });
    const stored = await aos.ingestTrace(trace);
    assert.equal(stored.root_hash, trace.rootHash);
    assert.equal(stored.plan_hash, trace.planHash);

    const detail = await aos.getTrace(trace.traceId);
    assert.equal(verifyTrace(detail), null);
    assert.deepEqual(detail.steps[0].params, params);
    const found = await collect(aos.tracesByHash(trace.rootHash));
    assert.deepEqual(found.map((t) => t.trace_id), [trace.traceId]);

    const other = new Trace({ plan: trace.plan, seed: 7, timestamp: trace.timestamp });
    other.addStep({ skill: "json_transform", params, output: { n: "different" } });
    await aos.ingestTrace(other);
    const comparison = await aos.compareTraces(trace.traceId, other.traceId);
    assert.equal(comparison.match, false);
    assert.equal(comparison.first_divergence.step_index, 0);
    assert.equal(comparison.first_divergence.reason, "output_mismatch");

    await assert.rejects(aos.ingestTrace(trace), (e) => e instanceof ConflictError && e.status === 409);
    assert.equal((await aos.ingestTrace(trace, { overwrite: true })).trace_id, trace.traceId);

    const tampered = trace.toJSON();
    tampered.steps[0].output = { n: "tampered" };
    tampered.trace_id = `${trace.traceId}_t`;
    await assert.rejects(aos.ingestTrace(tampered), (e) => e instanceof ValidationError && e.status === 400);

    await aos.deleteTrace(other.traceId);
    await assert.rejects(aos.getTrace(other.traceId), NotFoundError);
  });

  test("it reports, lists and resolves mismatches, and keeps the bulk report's envelope", async () => {
    const aos = client("operator");
    const run = await aos.run(PLAN, { seed: 9, agent_id: "js-mismatch" });
    const report = await aos.reportMismatch(run.trace_id, { step_index: 0, reason: "output_mismatch", details: { why: "js test" } });
    assert.equal(report.status, "recorded");
    assert.equal(report.trace_id, run.trace_id);
    const open = await collect(aos.listMismatches({ resolved: false }));
    assert.ok(open.some((m) => m.id === report.mismatch_id));
    assert.deepEqual((await collect(aos.listMismatches({ traceId: run.trace_id }))).map((m) => m.id), [report.mismatch_id]);

    await assert.rejects(aos.bulkReportMismatches([report.mismatch_id]), (e) => e instanceof ConflictError && e.code === "github_not_configured");
    await assert.rejects(aos.bulkReportMismatches([randomUUID()]), (e) => e instanceof NotFoundError && e.envelope.missing.length === 1);

    const resolved = await aos.resolveMismatch(run.trace_id, report.mismatch_id, { note: "known flake" });
    assert.equal(resolved.resolved, true);
    assert.equal(resolved.resolution_note, "known flake");
    assert.ok(!(await collect(aos.listMismatches({ resolved: false }))).some((m) => m.id === report.mismatch_id));
    await assert.rejects(aos.resolveMismatch(run.trace_id, report.mismatch_id), ConflictError);
  });

  test("it puts, gets, lists and deletes secrets as an admin; an operator is refused", async () => {
    const admin = client("admin");
    assert.equal(await admin.secretsSupported(), true);
    const stored = await admin.putSecret("JS_SLACK_URL", "https://hooks.slack.com/services/T0/B0/abcdefghijkl");
    assert.equal(stored.name, "JS_SLACK_URL");
    assert.equal("value" in stored, false);
    assert.equal((await admin.getSecret("JS_SLACK_URL")).name, "JS_SLACK_URL");
    assert.ok((await admin.listSecrets()).some((s) => s.name === "JS_SLACK_URL"));
    await admin.deleteSecret("JS_SLACK_URL");
    await assert.rejects(admin.getSecret("JS_SLACK_URL"), NotFoundError);
    const operator = client("operator");
    assert.equal(await operator.secretsSupported(), true);
    await assert.rejects(operator.putSecret("X", "y"), PermissionDeniedError);
  });

  test("it maps every error to its class with the server's envelope", async () => {
    const aos = client("developer");
    const bad = await aos.run([{ skill: "json_transform", params: { bogus: 1 } }]).catch((e) => e);
    assert.ok(bad instanceof ValidationError);
    assert.equal(bad.status, 400);
    assert.equal(bad.code, "validation_error");
    assert.ok("plan[0].params.payload" in bad.fields, JSON.stringify(bad.fields));

    const missing = await aos.skill("nope").catch((e) => e);
    assert.ok(missing instanceof NotFoundError);
    assert.ok(missing.envelope.available.includes("json_transform"));

    const anonymous = new AOSClient({ baseUrl: LIVE.baseUrl, apiKey: "aos_not_a_key" });
    const unauth = await anonymous.me().catch((e) => e);
    assert.ok(unauth instanceof AuthenticationError);
    assert.equal(unauth.code, "not_authenticated");

    const viewer = client("viewer");
    const denied = await viewer.createRun(PLAN).catch((e) => e);
    assert.ok(denied instanceof PermissionDeniedError);
    assert.deepEqual([denied.status, denied.code], [403, "permission_denied"]);

    const key = `js-reuse-${randomUUID()}`;
    await aos.simulate(PLAN, { seed: 1, save_trace: true, idempotencyKey: key });
    const reused = await aos.simulate(PLAN, { seed: 2, save_trace: true, idempotencyKey: key }).catch((e) => e);
    assert.ok(reused instanceof ConflictError);
    assert.deepEqual([reused.status, reused.code], [422, "idempotency_key_reused"]);
  });

  test("it answers another tenant's run and trace with not found, and escapes ids", async () => {
    const mine = await client("developer").run(PLAN, { seed: 6 });
    const other = client("other_tenant");
    await assert.rejects(other.getRun(mine.run_id), NotFoundError);
    await assert.rejects(other.getTrace(mine.trace_id), NotFoundError);
    await assert.rejects(other.replay(mine.run_id), NotFoundError);
    await assert.rejects(client("developer").getTrace(`../runtime/runs/${mine.run_id}`), NotFoundError);
  });
});
