/**
 * `AOSClient`: one method per endpoint of the AOS Control Plane API (PRODUCT.md §4-§6, §13), as the
 * Python SDK's `aos_sdk.AOSClient`. Results are the JSON objects typed by the generated schema.
 *
 *   const aos = new AOSClient({ baseUrl: "http://127.0.0.1:8000", apiKey: "aos_..." });
 *   const run = await aos.run([{ skill: "json_transform", params: {...} }], { seed: 42 });
 */
import { AOSError, NotFoundError } from "./errors.js";
import { type OnRetry, RetryPolicy, type RetryOptions, send } from "./http.js";
import { Trace, type TraceData } from "./trace.js";
import type * as T from "./types.js";
import { VERSION } from "./version.js";

export interface AOSClientOptions {
  baseUrl: string;
  /** An API key (`aos_...`), sent as `X-API-Key`. */
  apiKey?: string;
  /** A JWT from the identity provider, sent as `Authorization: Bearer`. */
  token?: string;
  /** Per attempt; default 30 000. */
  timeoutMs?: number;
  /** Retries of 429/502/503/504 and network errors; default 3. */
  maxRetries?: number;
  /** Finer retry settings (backoff, the longest Retry-After waited for, injectable sleep/clock). */
  retry?: RetryOptions;
  onRetry?: OnRetry;
  /** Another fetch (default: the global one of Node.js 20+). */
  fetch?: typeof globalThis.fetch;
}

export interface WaitOptions {
  timeoutMs?: number;
  pollIntervalMs?: number;
  onPoll?: (run: T.RunDetail) => void;
}

type Plan = readonly Record<string, unknown>[];
type Params = Record<string, string | number | boolean | null | undefined>;
type Paginated<I> = { next?: string | null; results: I[] };

const API = "/api/v1";
const FINISHED = new Set(["succeeded", "failed", "simulated"]);

/** The resolution kinds of a mismatch group (PRODUCT.md §15), as the server's schema names them. */
export const RESOLUTION_KINDS = [
  "fixed",
  "accepted_nondeterminism",
  "flaky_skill",
  "infrastructure",
  "duplicate",
] as const satisfies readonly T.ResolutionKind[];
// Fails to compile when the schema gains a kind this list does not name.
const everyKind: Exclude<T.ResolutionKind, (typeof RESOLUTION_KINDS)[number]> extends never ? true : never = true;
void everyKind;

/** A path segment, escaped so an id can never change the route. */
const seg = (value: string): string => encodeURIComponent(String(value));

function withoutUndefined<V extends object>(values: V): Partial<V> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<V>;
}

/** A client for one server and one credential (an API key, or a bearer token from the IdP). */
export class AOSClient {
  readonly baseUrl: string;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #onRetry: OnRetry | undefined;

  constructor(options: AOSClientOptions) {
    if (options.apiKey && options.token) throw new TypeError("give apiKey or token, not both");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = new RetryPolicy({ maxRetries: options.maxRetries ?? 3, ...options.retry });
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#onRetry = options.onRetry;
    this.#headers = { "User-Agent": `aos-sdk-js/${VERSION}`, Accept: "application/json" };
    if (options.apiKey) this.#headers["X-API-Key"] = options.apiKey;
    else if (options.token) this.#headers.Authorization = `Bearer ${options.token}`;
  }

  // -- plumbing ---------------------------------------------------------------------------------
  /** The decoded JSON body of a successful call (null for 204); throws an `AOSError`. */
  async request<R = unknown>(
    method: string,
    path: string,
    options: { body?: unknown; params?: Params; idempotencyKey?: string | undefined } = {},
  ): Promise<R> {
    // A path is joined to the base URL as written, so a base with a path prefix (https://host/aos) keeps it.
    const url = /^https?:\/\//.test(path) ? new URL(path) : new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(options.params ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const answer = await send({
      method: method.toUpperCase(),
      url,
      headers: this.#headers,
      body: options.body,
      idempotencyKey: options.idempotencyKey,
      timeoutMs: this.timeoutMs,
      policy: this.retry,
      fetch: this.#fetch,
      onRetry: this.#onRetry,
    });
    return answer.body as R;
  }

  /** Every item of a cursor-paginated list, following `next` until it is null. */
  async *#pages<I>(path: string, params: Params, page: T.PageOptions): AsyncGenerator<I, void, undefined> {
    let query: Params = { ...params, limit: page.pageSize };
    let next: string | null = path;
    let yielded = 0;
    while (next !== null) {
      const body: Paginated<I> | I[] = await this.request<Paginated<I> | I[]>("GET", next, { params: query });
      query = {}; // the `next` link carries the cursor and every filter
      const items = Array.isArray(body) ? body : body.results;
      for (const item of items) {
        if (page.maxItems !== undefined && yielded >= page.maxItems) return;
        yield item;
        yielded++;
      }
      next = Array.isArray(body) ? null : this.#sameOrigin(body.next);
    }
  }

  /** A `next` link as a path on our server: the credentials never follow a link elsewhere. */
  #sameOrigin(link: string | null | undefined): string | null {
    if (!link) return null;
    const base = new URL(this.baseUrl);
    const target = new URL(link, base);
    return base.origin + target.pathname + target.search;
  }

  // -- service ----------------------------------------------------------------------------------
  health(): Promise<{ status: string; [key: string]: unknown }> {
    return this.request("GET", "/health");
  }

  me(): Promise<T.Principal> {
    return this.request("GET", `${API}/me`);
  }

  // -- runtime ----------------------------------------------------------------------------------
  skills(): Promise<T.Skill[]> {
    return this.request("GET", `${API}/runtime/skills`);
  }

  skill(skillId: string): Promise<T.Skill> {
    return this.request("GET", `${API}/runtime/skills/${seg(skillId)}`);
  }

  capabilities(): Promise<T.Capabilities> {
    return this.request("GET", `${API}/runtime/capabilities`);
  }

  simulate(plan: Plan, options: T.SimulateOptions & T.Idempotent = {}): Promise<T.Simulation> {
    const { idempotencyKey, ...body } = options;
    return this.request("POST", `${API}/runtime/simulate`, { body: { plan, ...withoutUndefined(body) }, idempotencyKey });
  }

  /** POST runs: the finished run (201, `wait: true`), or the queued run (202) to poll. */
  createRun(plan: Plan, options: T.RunOptions & T.Idempotent = {}): Promise<T.RunDetail | T.RunQueued> {
    const { idempotencyKey, ...body } = options;
    return this.request("POST", `${API}/runtime/runs`, { body: { plan, ...withoutUndefined(body) }, idempotencyKey });
  }

  /** Runs a plan and returns it finished (asks the server to wait, polls if it answers 202). */
  async run(plan: Plan, options: T.RunOptions & T.Idempotent & WaitOptions = {}): Promise<T.RunDetail> {
    const { timeoutMs, pollIntervalMs, onPoll, ...rest } = options;
    const run = await this.createRun(plan, { ...rest, wait: true });
    if (FINISHED.has(String(run.status)) && "steps" in run) return run;
    return this.waitForRun(run.run_id ?? run.trace_id, { timeoutMs, pollIntervalMs, onPoll });
  }

  getRun(runId: string): Promise<T.RunDetail> {
    return this.request("GET", `${API}/runtime/runs/${seg(runId)}`);
  }

  /** Polls `GET runs/{id}` until the run has finished; throws past `timeoutMs` (default 300 000). */
  async waitForRun(runId: string, options: WaitOptions = {}): Promise<T.RunDetail> {
    const timeoutMs = options.timeoutMs ?? 300_000;
    const deadline = this.retry.now() + timeoutMs;
    for (;;) {
      const run = await this.getRun(runId);
      options.onPoll?.(run);
      if (FINISHED.has(String(run.status))) return run;
      if (this.retry.now() >= deadline) throw new Error(`run ${runId} still ${run.status} after ${timeoutMs} ms`);
      await this.retry.sleep(options.pollIntervalMs ?? 500);
    }
  }

  listRuns(filters: T.RunFilters & T.PageOptions = {}): AsyncGenerator<T.Run, void, undefined> {
    const { pageSize, maxItems, ...params } = filters;
    return this.#pages(`${API}/runtime/runs`, params as Params, { pageSize, maxItems });
  }

  replay(runId: string, options: T.ReplayOptions & T.Idempotent = {}): Promise<T.ReplayResult> {
    const { idempotencyKey, ...body } = options;
    return this.request("POST", `${API}/runtime/replay/${seg(runId)}`, { body: withoutUndefined(body), idempotencyKey });
  }

  // -- traces -----------------------------------------------------------------------------------
  ingestTrace(trace: Trace | TraceData, options: { overwrite?: boolean } & T.Idempotent = {}): Promise<T.TraceRecord> {
    const payload: TraceData = trace instanceof Trace ? trace.toJSON() : { ...trace };
    if (options.overwrite) payload.overwrite = true;
    return this.request("POST", `${API}/traces`, { body: payload, idempotencyKey: options.idempotencyKey });
  }

  listTraces(filters: T.TraceFilters & T.PageOptions = {}): AsyncGenerator<T.TraceRecord, void, undefined> {
    const { pageSize, maxItems, ...params } = filters;
    return this.#pages(`${API}/traces`, params as Params, { pageSize, maxItems });
  }

  /** One trace with its plan, input and steps; `traceId` may also be a run id. */
  getTrace(traceId: string): Promise<T.TraceDetail> {
    return this.request("GET", `${API}/traces/${seg(traceId)}`);
  }

  tracesByHash(rootHash: string, page: T.PageOptions = {}): AsyncGenerator<T.TraceRecord, void, undefined> {
    return this.#pages(`${API}/traces/by-hash/${seg(rootHash)}`, {}, page);
  }

  compareTraces(a: string, b: string): Promise<T.TraceComparison> {
    return this.request("GET", `${API}/traces/compare/${seg(a)}/${seg(b)}`);
  }

  async deleteTrace(traceId: string): Promise<void> {
    await this.request("DELETE", `${API}/traces/${seg(traceId)}`);
  }

  // -- mismatches -------------------------------------------------------------------------------
  reportMismatch(traceId: string, report: T.MismatchReportBody & T.Idempotent): Promise<T.MismatchReported> {
    const { idempotencyKey, ...body } = report;
    return this.request("POST", `${API}/traces/${seg(traceId)}/mismatch`, { body: withoutUndefined(body), idempotencyKey });
  }

  /** The tenant's mismatches, or one trace's when `traceId` is given. */
  listMismatches(
    filters: T.MismatchFilters & T.PageOptions & { traceId?: string } = {},
  ): AsyncGenerator<T.Mismatch, void, undefined> {
    const { pageSize, maxItems, traceId, ...params } = filters;
    const path = traceId ? `${API}/traces/${seg(traceId)}/mismatches` : `${API}/mismatches`;
    return this.#pages(path, params as Params, { pageSize, maxItems });
  }

  resolveMismatch(traceId: string, mismatchId: string, options: { note?: string } = {}): Promise<T.Mismatch> {
    const path = `${API}/traces/${seg(traceId)}/mismatches/${seg(mismatchId)}/resolve`;
    return this.request("POST", path, { body: withoutUndefined(options) });
  }

  bulkReportMismatches(mismatchIds: readonly string[], options: T.Idempotent = {}): Promise<T.BulkReport> {
    const body = { mismatch_ids: mismatchIds.map(String), github_issue: true };
    return this.request("POST", `${API}/traces/mismatches/bulk-report`, { body, idempotencyKey: options.idempotencyKey });
  }

  // -- mismatch groups (PRODUCT.md §15) ---------------------------------------------------------
  /** The tenant's mismatch groups, most recently seen first (list items: no diff, no events). */
  listMismatchGroups(filters: T.MismatchGroupFilters & T.PageOptions = {}): AsyncGenerator<T.MismatchGroup, void, undefined> {
    const { pageSize, maxItems, ...params } = filters;
    return this.#pages(`${API}/mismatch-groups`, params as Params, { pageSize, maxItems });
  }

  /** One group with its latest mismatch, the latest diff and the timeline (`events`, oldest first). */
  getMismatchGroup(groupId: number | string): Promise<T.MismatchGroupDetail> {
    return this.request("GET", `${API}/mismatch-groups/${seg(String(groupId))}`);
  }

  /**
   * Resolves a group and its mismatches (operator) with a kind and a note, both required:
   * `ConflictError` (409) when it is already resolved, `ValidationError` for an unknown kind or an empty note.
   */
  resolveMismatchGroup(groupId: number | string, resolution: T.GroupResolveBody & T.Idempotent): Promise<T.MismatchGroupDetail> {
    const { idempotencyKey, kind, note } = resolution;
    const path = `${API}/mismatch-groups/${seg(String(groupId))}/resolve`;
    return this.request("POST", path, { body: { kind, note }, idempotencyKey });
  }

  // -- secrets (admin; servers before PRODUCT.md §13 answer 404) --------------------------------
  /** Whether the server has the secret store (a 404 on its route means it does not). */
  async secretsSupported(): Promise<boolean> {
    try {
      await this.request("GET", `${API}/secrets`);
    } catch (exc) {
      if (exc instanceof NotFoundError) return false;
      if (exc instanceof AOSError) return exc.status !== null && exc.status !== 405;
      throw exc;
    }
    return true;
  }

  putSecret(name: string, value: string): Promise<T.Secret> {
    return this.request("PUT", `${API}/secrets/${seg(name)}`, { body: { value } });
  }

  /** A secret's name and timestamps (the value is write-only). */
  getSecret(name: string): Promise<T.Secret> {
    return this.request("GET", `${API}/secrets/${seg(name)}`);
  }

  async listSecrets(): Promise<T.Secret[]> {
    const data = await this.request<T.Secret[] | Paginated<T.Secret>>("GET", `${API}/secrets`);
    return Array.isArray(data) ? data : data.results;
  }

  async deleteSecret(name: string): Promise<void> {
    await this.request("DELETE", `${API}/secrets/${seg(name)}`);
  }
}
