/**
 * Structural diff of JSON values and the first divergence between two traces, as `aos_sdk.diff`
 * (the server's replay and trace-compare diff), so a local `diffTraces` reads like the server's.
 */
export const MISSING = "<missing>";

/** In the order replay checks a step (PRODUCT.md §4): skill, input hash, status, output hash. */
export const STEP_CHECKS = [
  ["skill", "skill_mismatch"],
  ["input_hash", "input_mismatch"],
  ["status", "status_mismatch"],
  ["output_hash", "output_mismatch"],
] as const;

export type DivergenceReason = (typeof STEP_CHECKS)[number][1] | "step_count_mismatch";

export interface Difference {
  path: string;
  a: unknown;
  b: unknown;
}

export interface Divergence {
  step_index: number;
  reason: DivergenceReason;
  a: unknown;
  b: unknown;
  diff: Difference[];
}

export interface TraceDiff {
  match: boolean;
  first_divergence: Divergence | null;
  differences: Difference[];
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/** Python's `sorted()` order on str: by code point, not by UTF-16 code unit. */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) ?? 0);
  const y = Array.from(b, (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return x.length - y.length;
}

function walk(a: unknown, b: unknown, path: string, out: Difference[], limit: number): void {
  if (out.length >= limit) return;
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(byCodePoint);
    for (const key of keys) {
      walk(key in a ? a[key] : MISSING, key in b ? b[key] : MISSING, join(path, key), out, limit);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      walk(i < a.length ? a[i] : MISSING, i < b.length ? b[i] : MISSING, join(path, i), out, limit);
    }
    return;
  }
  if (a !== b) out.push({ path: path || "$", a, b });
}

/** Differences between `a` and `b` as `[{path, a, b}]`, depth first, in key order; at most `limit`. */
export function structuralDiff(a: unknown, b: unknown, path = "", limit = 200): Difference[] {
  const out: Difference[] = [];
  walk(a, b, path, out, limit);
  return out;
}

const STEP_KEYS = ["skill", "params", "output", "status", "input_hash", "output_hash", "step_hash"] as const;

function stepView(step: Obj): Obj {
  return Object.fromEntries(STEP_KEYS.map((k) => [k, step[k] ?? null]));
}

/** What two traces are compared on (as the server's compare): hashed content, not audit fields. */
export function comparable(trace: Obj): Obj {
  const steps = Array.isArray(trace.steps) ? (trace.steps as Obj[]) : [];
  return {
    plan_hash: trace.plan_hash ?? null,
    seed: trace.seed ?? null,
    frozen_timestamp: trace.timestamp ?? trace.frozen_timestamp ?? null,
    status: trace.status ?? null,
    root_hash: trace.root_hash ?? null,
    steps: steps.map(stepView),
  };
}

/** The first step where two step lists differ (skill, input hash, status, output hash; then count). */
export function firstDivergence(aSteps: readonly Obj[], bSteps: readonly Obj[]): Divergence | null {
  for (let i = 0; i < Math.min(aSteps.length, bSteps.length); i++) {
    const a = aSteps[i] as Obj;
    const b = bSteps[i] as Obj;
    for (const [key, reason] of STEP_CHECKS) {
      if ((a[key] ?? null) !== (b[key] ?? null)) {
        const index = Number(a.index ?? 0);
        return { step_index: index, reason, a: a[key] ?? null, b: b[key] ?? null, diff: structuralDiff(stepView(a), stepView(b)) };
      }
    }
  }
  if (aSteps.length !== bSteps.length) {
    return {
      step_index: Math.min(aSteps.length, bSteps.length),
      reason: "step_count_mismatch",
      a: aSteps.length,
      b: bSteps.length,
      diff: [],
    };
  }
  return null;
}

/** Compares two traces (file/ingest format or the server's detail): first divergence and the diff. */
export function diffTraces(a: object, b: object): TraceDiff {
  const x = a as Obj;
  const y = b as Obj;
  const differences = structuralDiff(comparable(x), comparable(y));
  const first = firstDivergence((x.steps as Obj[] | undefined) ?? [], (y.steps as Obj[] | undefined) ?? []);
  return { match: differences.length === 0, first_divergence: first, differences };
}
