// Shared by the client tests: the live server's address and keys (set by tests/sdk/test_js_sdk.py),
// and loopback stand-ins (a faulty proxy, a fake server) on free 127.0.0.1 ports.
import { createServer, request as httpRequest } from "node:http";

export const LIVE = process.env.AOS_TEST_BASE_URL
  ? { baseUrl: process.env.AOS_TEST_BASE_URL, keys: JSON.parse(process.env.AOS_TEST_KEYS ?? "{}"), token: process.env.AOS_TEST_TOKEN }
  : null;

/** Why the live tests do not run; tests/sdk/test_js_sdk.py fails the run when anything is skipped. */
export const SKIP_LIVE = LIVE ? false : "AOS_TEST_BASE_URL is not set (run through tests/sdk/test_js_sdk.py)";

export const PLAN = [{ skill: "json_transform", params: { payload: { x: 1 }, mapping: { y: "x" } } }];

/** A retry policy that never waits but records every wait. */
export function recordingSleep() {
  const sleeps = [];
  return { sleeps, retry: { sleep: async (ms) => void sleeps.push(ms) } };
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

/**
 * A loopback proxy to `upstream`. `fault(n, req)` decides request n (0-based): "forward", or after forwarding
 * to the server (so it commits) "503" (answer 503 with Retry-After: 1) or "drop" (close without a byte),
 * or "hang" (never answer, never forward). Every request and upstream answer is recorded.
 */
export async function faultyProxy(upstream, fault) {
  const seen = [];
  const sockets = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const n = seen.length;
      const entry = { method: req.method, url: req.url, headers: req.headers, action: fault(n, req), upstream: null };
      seen.push(entry);
      if (entry.action === "hang") return;
      const target = new URL(req.url, upstream);
      const headers = { ...req.headers, host: target.host };
      const up = httpRequest(target, { method: req.method, headers }, (answer) => {
        const body = [];
        answer.on("data", (c) => body.push(c));
        answer.on("end", () => {
          entry.upstream = { status: answer.statusCode, headers: answer.headers };
          if (entry.action === "drop") return req.socket.destroy();
          if (entry.action === "503") {
            res.writeHead(503, { "Content-Type": "application/json", "Retry-After": "1" });
            return res.end(JSON.stringify({ error: "service_unavailable", message: "proxy says no" }));
          }
          res.writeHead(answer.statusCode, answer.headers);
          res.end(Buffer.concat(body));
        });
      });
      up.end(Buffer.concat(chunks));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const url = await listen(server);
  return {
    url,
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A fake server whose every answer is `handle(req) -> {status, headers, body}`. */
export async function fakeServer(handle) {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    const { status = 200, headers = {}, body = null } = handle(req);
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(body === null ? "" : JSON.stringify(body));
  });
  const url = await listen(server);
  return {
    url,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections(); // the client's keep-alive sockets would hold close() open
      }),
  };
}

/**
 * A mismatch group made as the product makes one: a trace recording `{ y: recorded }` where json_transform
 * computes `{ y: x }`, ingested and replayed (it diverges at step 0: output_mismatch). One plan per `x`, so one
 * group per `x`; the same `x` again joins the same group. Returns the trace, the replay and the group id.
 */
export async function divergedGroup(aos, Trace, { agent, x, recorded = "wrong" }) {
  const params = { payload: { x }, mapping: { y: "x" } };
  const trace = new Trace({ plan: [{ skill: "json_transform", params }], seed: 1, agentId: agent });
  trace.addStep({ skill: "json_transform", params, output: { y: recorded } });
  await aos.ingestTrace(trace);
  const replay = await aos.replay(trace.traceId, { mode: "recorded" });
  if (replay.parity || !replay.mismatch_id) throw new Error(`expected a divergence: ${JSON.stringify(replay)}`);
  for await (const mismatch of aos.listMismatches({ traceId: trace.traceId })) {
    if (mismatch.id === replay.mismatch_id) return { trace, replay, groupId: mismatch.group_id, mismatchId: mismatch.id };
  }
  throw new Error(`mismatch ${replay.mismatch_id} is not listed on ${trace.traceId}`);
}
