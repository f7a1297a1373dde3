// Retries: a real 429 from the server's rate limit, a proxy that loses the answer of a committed POST
// (503, or a dropped connection), a timeout; one Idempotency-Key on every attempt; Retry-After honoured.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { AOSClient, AOSConnectionError, parseRetryAfter, RateLimitError, RetryPolicy, ServerError } from "../dist/index.js";
import { LIVE, PLAN, SKIP_LIVE, fakeServer, faultyProxy, recordingSleep } from "./helpers.js";

async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("retries against a live server", { skip: SKIP_LIVE }, () => {
  test("it retries a POST whose answer was lost with the same Idempotency-Key, honouring Retry-After", async () => {
    const proxy = await faultyProxy(LIVE.baseUrl, (n) => (n === 0 ? "503" : "forward"));
    try {
      const { sleeps, retry } = recordingSleep();
      const retries = [];
      const aos = new AOSClient({ baseUrl: proxy.url, apiKey: LIVE.keys.developer, retry, onRetry: (...a) => retries.push(a) });
      const agent = `js-retry-${randomUUID().slice(0, 8)}`;
      const run = await aos.createRun(PLAN, { seed: 11, wait: true, agent_id: agent });
      assert.equal(run.status, "succeeded");
      assert.equal(proxy.seen.length, 2);
      const [first, second] = proxy.seen;
      assert.match(first.headers["idempotency-key"], /^sdk-[0-9a-f]{32}$/);
      assert.equal(second.headers["idempotency-key"], first.headers["idempotency-key"]);
      assert.equal(first.upstream.status, 201); // the server committed the first attempt
      assert.equal(second.upstream.headers["idempotent-replayed"], "true"); // and answered the retry from it
      assert.deepEqual(sleeps, [1000]); // Retry-After: 1
      assert.deepEqual(retries, [[1, 1000, "HTTP 503"]]);
      const direct = new AOSClient({ baseUrl: LIVE.baseUrl, apiKey: LIVE.keys.developer });
      assert.deepEqual((await collect(direct.listRuns({ agent_id: agent }))).map((r) => r.run_id), [run.run_id]);
    } finally {
      await proxy.close();
    }
  });

  test("it retries a dropped connection with the same key, and a caller's own key", async () => {
    const proxy = await faultyProxy(LIVE.baseUrl, (n) => (n === 0 ? "drop" : "forward"));
    try {
      const { sleeps, retry } = recordingSleep();
      const aos = new AOSClient({ baseUrl: proxy.url, apiKey: LIVE.keys.developer, retry: { ...retry, random: () => 0.5 } });
      const agent = `js-drop-${randomUUID().slice(0, 8)}`;
      const key = `mine-${randomUUID()}`;
      const run = await aos.createRun(PLAN, { seed: 12, wait: true, agent_id: agent, idempotencyKey: key });
      assert.deepEqual(proxy.seen.map((s) => s.headers["idempotency-key"]), [key, key]);
      assert.equal(proxy.seen[1].upstream.headers["idempotent-replayed"], "true");
      assert.deepEqual(sleeps, [250]); // full jitter: 0.5 * min(cap, 500 ms * 2^0)
      const direct = new AOSClient({ baseUrl: LIVE.baseUrl, apiKey: LIVE.keys.developer });
      assert.deepEqual((await collect(direct.listRuns({ agent_id: agent }))).map((r) => r.run_id), [run.run_id]);
    } finally {
      await proxy.close();
    }
  });

  test("it gives up after maxRetries on a server that never answers in time", async () => {
    const proxy = await faultyProxy(LIVE.baseUrl, () => "hang");
    try {
      const { sleeps, retry } = recordingSleep();
      const aos = new AOSClient({ baseUrl: proxy.url, apiKey: LIVE.keys.developer, timeoutMs: 150, maxRetries: 2, retry });
      const error = await aos.me().catch((e) => e);
      assert.ok(error instanceof AOSConnectionError, String(error));
      assert.equal(error.code, "connection_error");
      assert.match(error.message, /TimeoutError/);
      assert.equal(proxy.seen.length, 3);
      assert.equal(sleeps.length, 2);
    } finally {
      await proxy.close();
    }
  });

  test("it raises a real 429 as RateLimitError with retryAfter, and waits exactly Retry-After when retrying", async () => {
    const limited = new AOSClient({ baseUrl: LIVE.baseUrl, apiKey: LIVE.keys.free_tier, maxRetries: 0 });
    let error = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      error = null;
      for (let i = 0; i < 20 && error === null; i++) error = await limited.me().then(() => null, (e) => e);
      // The clients below must meet the same window: when it ends within 3 s, exhaust the next one instead.
      if (!(error instanceof RateLimitError) || error.retryAfter > 3) break;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfter * 1000 + 100));
    }
    assert.ok(error instanceof RateLimitError, String(error));
    assert.deepEqual([error.status, error.code, error.envelope.tier], [429, "rate_limit_exceeded", "free"]);
    assert.equal(error.envelope.limit, LIVE.keys.free_tier_limit);
    assert.ok(error.retryAfter > 0 && error.retryAfter <= 60, String(error.retryAfter));
    assert.equal(Number(error.headers["retry-after"]), error.retryAfter);

    const { sleeps, retry } = recordingSleep();
    const retrying = new AOSClient({ baseUrl: LIVE.baseUrl, apiKey: LIVE.keys.free_tier, maxRetries: 2, retry });
    const again = await retrying.me().catch((e) => e);
    assert.ok(again instanceof RateLimitError);
    assert.equal(sleeps.length, 2);
    for (const ms of sleeps) assert.ok(ms > 0 && ms <= 60_000 && ms % 1000 === 0, String(ms));

    const { sleeps: none, retry: quick } = recordingSleep();
    const impatient = new AOSClient({ baseUrl: LIVE.baseUrl, apiKey: LIVE.keys.free_tier, maxRetries: 3, retry: { ...quick, maxRetryAfterMs: 10 } });
    assert.ok((await impatient.me().catch((e) => e)) instanceof RateLimitError);
    assert.deepEqual(none, []); // a Retry-After longer than maxRetryAfterMs is thrown at once
  });
});

describe("retries and paging against stand-ins", () => {
  test("it backs off on 502/504 without Retry-After and stops at maxRetries with ServerError", async () => {
    const codes = [502, 504, 500];
    const server = await fakeServer(() => ({ status: codes.shift() ?? 200, body: { error: "boom", message: "upstream" } }));
    try {
      const { sleeps, retry } = recordingSleep();
      const aos = new AOSClient({ baseUrl: server.url, apiKey: "aos_x", retry: { ...retry, random: () => 1 } });
      const error = await aos.health().catch((e) => e);
      assert.ok(error instanceof ServerError); // 500 is not retried
      assert.deepEqual([error.status, error.code], [500, "boom"]);
      assert.deepEqual(sleeps, [500, 1000]);
      assert.equal(server.seen.length, 3);
      assert.ok(server.seen.every((r) => r.headers["x-api-key"] === "aos_x" && r.headers["idempotency-key"] === undefined));
    } finally {
      await server.close();
    }
  });

  test("it sends a token as a bearer and never follows a next link to another host", async () => {
    const server = await fakeServer((req) =>
      req.url === "/api/v1/traces?pinned=true"
        ? { body: { next: "https://evil.example/api/v1/traces?cursor=abc", results: [{ trace_id: "tr_1" }] } }
        : { body: { next: null, results: [{ trace_id: "tr_2" }] } },
    );
    try {
      const aos = new AOSClient({ baseUrl: server.url, token: "jwt.token.here" });
      assert.deepEqual((await collect(aos.listTraces({ pinned: true }))).map((t) => t.trace_id), ["tr_1", "tr_2"]);
      assert.deepEqual(server.seen.map((r) => r.url), ["/api/v1/traces?pinned=true", "/api/v1/traces?cursor=abc"]);
      assert.ok(server.seen.every((r) => r.headers.authorization === "Bearer jwt.token.here" && !("x-api-key" in r.headers)));
    } finally {
      await server.close();
    }
  });

  test("it keeps a base URL's path prefix on every request and page", async () => {
    const server = await fakeServer((req) =>
      req.url === "/aos/api/v1/mismatches?resolved=false"
        ? { body: { next: `http://127.0.0.1:1/aos/api/v1/mismatches?cursor=2`, results: [{ id: "m1" }] } }
        : { body: { next: null, results: [{ id: "m2" }] } },
    );
    try {
      const aos = new AOSClient({ baseUrl: `${server.url}/aos/`, apiKey: "aos_x" });
      assert.deepEqual((await collect(aos.listMismatches({ resolved: false }))).map((m) => m.id), ["m1", "m2"]);
      assert.deepEqual(server.seen.map((r) => r.url), ["/aos/api/v1/mismatches?resolved=false", "/aos/api/v1/mismatches?cursor=2"]);
    } finally {
      await server.close();
    }
  });

  test("it reads Retry-After as seconds or an HTTP date", () => {
    assert.equal(parseRetryAfter("7"), 7);
    assert.equal(parseRetryAfter(" 0 "), 0);
    assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT")), 10);
    assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:29:00 GMT")), 0);
    assert.equal(parseRetryAfter("soon"), null);
    assert.equal(parseRetryAfter(undefined), null);
    assert.equal(new RetryPolicy({ random: () => 1, backoffCapMs: 3000 }).backoff(10), 3000);
  });
});
