/** The hash chain of PRODUCT.md §3, the same functions as the Python SDK's `aos_sdk.hashing`. */
import { H } from "./canonical.js";

export const STEP_STATUSES = ["succeeded", "failed", "skipped"] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** A plan step as the caller gives it (`params` defaults to `{}` in the hashed plan). */
export type PlanStep = { skill: string; params?: Record<string, unknown> } & Record<string, unknown>;

/** Each step exactly as given, plus `"params": {}` when missing. */
export function normalisePlan(plan: readonly PlanStep[]): PlanStep[] {
  return plan.map((step) => ("params" in step && step.params !== undefined ? { ...step } : { ...step, params: {} }));
}

export function planHash(plan: readonly PlanStep[]): string {
  return H(normalisePlan(plan));
}

/** H(resolved params): the step's params after `{{ }}` substitution, no skill defaults. */
export function inputHash(resolvedParams: unknown): string {
  return H(resolvedParams);
}

/** H(output), H(null) when there is none. */
export function outputHash(output: unknown): string {
  return H(output === undefined ? null : output);
}

export interface StepHashInput {
  index: number;
  skill: string;
  inputHash: string;
  outputHash: string;
  status: StepStatus | string;
}

export function stepHash({ index, skill, inputHash, outputHash, status }: StepHashInput): string {
  if (!(STEP_STATUSES as readonly string[]).includes(status)) {
    throw new RangeError(`status must be one of ${STEP_STATUSES.join(", ")}, not ${JSON.stringify(status)}`);
  }
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`index must be a non-negative integer`);
  return H({ index, skill, input_hash: inputHash, output_hash: outputHash, status });
}

function assertSeed(seed: number): void {
  // The server takes the seed as an integer; a fraction would hash to a value it can never produce.
  if (!Number.isSafeInteger(seed)) throw new TypeError(`seed must be an integer within ±(2^53 - 1), not ${seed}`);
}

export function rootZero({ planHash, seed, timestamp }: { planHash: string; seed: number; timestamp: string }): string {
  assertSeed(seed);
  return H({ plan_hash: planHash, seed, timestamp });
}

export function rootNext(prev: string, stepHash: string): string {
  return H({ prev, step: stepHash });
}

/** root_0 folded with every step hash in order. */
export function rootHash({
  planHash,
  seed,
  timestamp,
  stepHashes,
}: {
  planHash: string;
  seed: number;
  timestamp: string;
  stepHashes: Iterable<string>;
}): string {
  let root = rootZero({ planHash, seed, timestamp });
  for (const sh of stepHashes) root = rootNext(root, sh);
  return root;
}
