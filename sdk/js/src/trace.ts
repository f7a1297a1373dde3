/**
 * Trace builder and verifier (PRODUCT.md §3, §5): the ingest format the server accepts, with the
 * same hashes as the Python SDK's `aos_sdk.trace` (field names as on the wire, snake_case).
 *
 *   const trace = new Trace({ plan, seed: 42, timestamp: "2025-01-01T00:00:00Z" });
 *   trace.addStep({ skill: "json_transform", params: {...}, output: { y: 1 } });
 *   verifyTrace(trace.toJSON());        // null, or the first HashError
 */
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as hashing from "./hashing.js";
import type { PlanStep, StepStatus } from "./hashing.js";

/** The current UTC time in the frozen-timestamp form `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
export function utcTimestamp(now: Date = new Date()): string {
  return now.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function newTraceId(): string {
  return "tr_" + randomUUID().replaceAll("-", "");
}

/** One step of a trace payload. */
export interface TraceStepData {
  index: number;
  skill: string;
  skill_version?: string;
  params: Record<string, unknown>;
  output: unknown;
  status: StepStatus | string;
  error_code?: string;
  error_message?: string;
  input_hash: string;
  output_hash: string;
  step_hash: string;
  cost_cents?: number;
  duration_ms?: number;
  retry_count?: number;
  idempotency_key?: string;
  replay?: string;
  [key: string]: unknown;
}

/** A trace payload: `POST /api/v1/traces` body, a `*.trace.json` file, or the server's detail. */
export interface TraceData {
  trace_id?: string;
  agent_id?: string;
  plan: PlanStep[];
  plan_hash?: string;
  seed: number;
  timestamp?: string;
  frozen_timestamp?: string;
  input?: unknown;
  metadata?: Record<string, unknown>;
  status?: string;
  root_hash?: string;
  steps: TraceStepData[];
  overwrite?: boolean;
  [key: string]: unknown;
}

export interface AddStepOptions {
  skill: string;
  params?: Record<string, unknown>;
  output?: unknown;
  status?: StepStatus;
  skillVersion?: string;
  errorCode?: string;
  errorMessage?: string;
  costCents?: number;
  durationMs?: number;
  retryCount?: number;
  idempotencyKey?: string;
  replay?: "check" | "execute" | "skip";
}

export interface TraceOptions {
  plan?: PlanStep[];
  seed?: number;
  timestamp?: string;
  traceId?: string;
  agentId?: string;
  input?: unknown;
  metadata?: Record<string, unknown>;
  status?: string;
}

const clone = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

/** Builds a hash-chained trace step by step; `toJSON()` is the ingest payload. */
export class Trace {
  readonly traceId: string;
  readonly seed: number;
  readonly timestamp: string;
  agentId: string;
  input: unknown;
  metadata: Record<string, unknown>;
  status: string | undefined;
  steps: TraceStepData[] = [];
  #plan: PlanStep[] | undefined;
  // Hashes read from a file or the server: kept as they were, so verify() can catch tampering.
  #stored: { plan_hash: unknown; root_hash: unknown } | undefined;

  constructor(options: TraceOptions = {}) {
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new TypeError("seed must be an integer");
    this.traceId = options.traceId ?? newTraceId();
    this.#plan = options.plan?.map((step) => clone(step));
    this.seed = seed;
    this.timestamp = options.timestamp ?? utcTimestamp();
    this.agentId = options.agentId ?? "";
    this.input = clone(options.input ?? null);
    this.metadata = clone(options.metadata ?? {});
    this.status = options.status;
  }

  /** The plan as given (normalised), or one `{skill, params}` entry per step when none was given. */
  get plan(): PlanStep[] {
    if (this.#plan !== undefined) return hashing.normalisePlan(this.#plan);
    return this.steps.map((s) => ({ skill: s.skill, params: clone(s.params) }));
  }

  get planHash(): string {
    return hashing.planHash(this.plan);
  }

  get rootHash(): string {
    return hashing.rootHash({
      planHash: this.planHash,
      seed: this.seed,
      timestamp: this.timestamp,
      stepHashes: this.steps.map((s) => s.step_hash),
    });
  }

  /** Appends step `steps.length` with its input, output and step hashes; returns it. */
  addStep(options: AddStepOptions): TraceStepData {
    const index = this.steps.length;
    const params = clone(options.params ?? {});
    const output = clone(options.output ?? null);
    const status = options.status ?? "succeeded";
    const ih = hashing.inputHash(params);
    const oh = hashing.outputHash(output);
    const step: TraceStepData = {
      index,
      skill: options.skill,
      skill_version: options.skillVersion ?? "",
      params,
      output,
      status,
      error_code: options.errorCode ?? "",
      error_message: options.errorMessage ?? "",
      input_hash: ih,
      output_hash: oh,
      step_hash: hashing.stepHash({ index, skill: options.skill, inputHash: ih, outputHash: oh, status }),
      cost_cents: options.costCents ?? 0,
      duration_ms: options.durationMs ?? 0,
      retry_count: options.retryCount ?? 0,
      idempotency_key: options.idempotencyKey ?? "",
    };
    if (options.replay !== undefined) step.replay = options.replay;
    this.steps.push(step);
    this.#stored = undefined;
    return step;
  }

  /** Sets the final status (default: failed if any step failed) and returns the payload. */
  finalise(status?: string): TraceData {
    if (status !== undefined) this.status = status;
    else if (this.status === undefined) this.status = this.#derivedStatus();
    return this.toJSON();
  }

  /** The first hash that does not match its content (plan, steps in order, root), or null. */
  verify(): HashError | null {
    return verifyTrace(this.toJSON());
  }

  #derivedStatus(): string {
    return this.steps.some((s) => s.status === "failed") ? "failed" : "succeeded";
  }

  /** The ingest payload for `POST /api/v1/traces` (`JSON.stringify(trace)` gives it too). */
  toJSON(): TraceData {
    const data: TraceData = {
      trace_id: this.traceId,
      agent_id: this.agentId,
      plan: this.plan,
      plan_hash: this.planHash,
      seed: this.seed,
      timestamp: this.timestamp,
      input: clone(this.input),
      metadata: clone(this.metadata),
      status: this.status ?? this.#derivedStatus(),
      root_hash: this.rootHash,
      steps: clone(this.steps),
    };
    if (this.#stored !== undefined) Object.assign(data, this.#stored);
    return data;
  }

  /** A trace from its payload (a file, or the server's detail with `frozen_timestamp`), hashes as given. */
  static fromJSON(data: TraceData): Trace {
    const timestamp = data.timestamp ?? data.frozen_timestamp;
    const trace = new Trace({
      plan: data.plan,
      seed: data.seed ?? 0,
      ...(timestamp !== undefined ? { timestamp: String(timestamp) } : {}),
      ...(data.trace_id !== undefined ? { traceId: data.trace_id } : {}),
      agentId: data.agent_id ?? "",
      input: data.input,
      metadata: data.metadata ?? {},
      ...(data.status !== undefined ? { status: data.status } : {}),
    });
    trace.steps = clone(data.steps ?? []);
    trace.#stored = { plan_hash: data.plan_hash, root_hash: data.root_hash };
    return trace;
  }

  save(path: string): string {
    return saveTrace(this.toJSON(), path);
  }

  static load(path: string): Trace {
    return Trace.fromJSON(loadTrace(path));
  }
}

/** The first hash that does not match its content; `stepIndex` is null for trace-level fields. */
export class HashError {
  constructor(
    readonly field: "plan_hash" | "input_hash" | "output_hash" | "step_hash" | "root_hash",
    readonly expected: string,
    readonly got: unknown,
    readonly stepIndex: number | null = null,
  ) {}

  /** e.g. `steps[3].output_hash`, or `root_hash`. */
  get path(): string {
    return this.stepIndex === null ? this.field : `steps[${this.stepIndex}].${this.field}`;
  }

  toString(): string {
    return `${this.path} is ${JSON.stringify(this.got)} but the content hashes to ${this.expected}`;
  }
}

export interface RecomputedHashes {
  plan_hash: string;
  root_hash: string;
  steps: { input_hash: string; output_hash: string; step_hash: string }[];
}

/** Every hash of a trace payload, recomputed from its content (ignores the sent hashes). */
export function recompute(data: TraceData): RecomputedHashes {
  const planH = hashing.planHash(data.plan);
  const timestamp = data.timestamp ?? data.frozen_timestamp;
  if (timestamp === undefined) throw new TypeError("the trace has no timestamp");
  let root = hashing.rootZero({ planHash: planH, seed: data.seed, timestamp });
  const steps = data.steps.map((step) => {
    const ih = hashing.inputHash(step.params ?? {});
    const oh = hashing.outputHash(step.output ?? null);
    const sh = hashing.stepHash({ index: step.index, skill: step.skill, inputHash: ih, outputHash: oh, status: step.status });
    root = hashing.rootNext(root, sh);
    return { input_hash: ih, output_hash: oh, step_hash: sh };
  });
  return { plan_hash: planH, root_hash: root, steps };
}

/** The first disagreement between sent and recomputed hashes (plan, steps in order, root), or null. */
export function verifyTrace(data: TraceData | Trace): HashError | null {
  const payload = data instanceof Trace ? data.toJSON() : data;
  const computed = recompute(payload);
  if (payload.plan_hash !== computed.plan_hash) return new HashError("plan_hash", computed.plan_hash, payload.plan_hash);
  for (const [i, step] of payload.steps.entries()) {
    const hashes = computed.steps[i]!;
    for (const name of ["input_hash", "output_hash", "step_hash"] as const) {
      if (step[name] !== hashes[name]) return new HashError(name, hashes[name], step[name], step.index);
    }
  }
  if (payload.root_hash !== computed.root_hash) return new HashError("root_hash", computed.root_hash, payload.root_hash);
  return null;
}

/** Writes a trace payload as pretty JSON (conventionally `*.trace.json`). */
export function saveTrace(data: TraceData, path: string): string {
  writeFileSync(path, JSON.stringify(data, null, 2) + "\n", "utf8");
  return path;
}

/** Reads a trace payload; throws when the file is not a JSON object with `steps`. */
export function loadTrace(path: string): TraceData {
  const data: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (typeof data !== "object" || data === null || !Array.isArray((data as TraceData).steps)) {
    throw new TypeError(`${path}: not a trace (a JSON object with a 'steps' list)`);
  }
  return data as TraceData;
}
