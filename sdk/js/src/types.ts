/** Names for the API's shapes, all taken from the generated `schema.d.ts` (openapi-typescript). */
import type { components, operations } from "./schema.js";

type Schemas = components["schemas"];
type Query<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;
type Filters<Op extends keyof operations> = Omit<Query<Op>, "cursor" | "limit">;

export type Principal = Schemas["Principal"];
export type Skill = Schemas["Skill"];
export type Capabilities = Schemas["Capabilities"];
export type Simulation = Schemas["SimulateOutput"];
export type Run = Schemas["Run"];
export type RunDetail = Schemas["RunDetail"];
export type RunQueued = Schemas["RunQueued"];
export type ReplayResult = Schemas["ReplayOutput"];
export type TraceRecord = Schemas["Trace"];
export type TraceDetail = Schemas["TraceDetail"];
export type TraceComparison = Schemas["TraceComparison"];
export type Mismatch = Schemas["Mismatch"];
export type MismatchReported = Schemas["MismatchReported"];
export type BulkReport = Schemas["BulkReportOutput"];
export type MismatchGroup = Schemas["MismatchGroup"];
export type MismatchGroupDetail = Schemas["MismatchGroupDetail"];
export type MismatchGroupEvent = Schemas["MismatchGroupEvent"];
export type MismatchGroupStatus = Schemas["MismatchGroupStatusEnum"];
export type LatestDiff = Schemas["LatestDiff"];
export type ResolutionKind = Schemas["ResolutionKindEnum"];
export type GroupResolveBody = Schemas["GroupResolveInputRequest"];
export type Secret = Schemas["Secret"];
export type ErrorEnvelope = Schemas["ErrorEnvelope"];
export type RunPlanStep = Schemas["RunPlanStep"];
export type SimulatePlanStep = Schemas["SimulatePlanStep"];

export type SimulateOptions = Partial<Omit<Schemas["SimulateInputRequest"], "plan">>;
export type RunOptions = Partial<Omit<Schemas["RunInputRequest"], "plan">>;
export type ReplayOptions = Partial<Schemas["ReplayInputRequest"]>;
export type MismatchReportBody = Omit<Schemas["MismatchReportInputRequest"], "skill_id"> &
  Partial<Pick<Schemas["MismatchReportInputRequest"], "skill_id">>;

export type RunFilters = Filters<"v1_runtime_runs_list">;
export type TraceFilters = Filters<"v1_traces_list">;
export type MismatchFilters = Filters<"v1_mismatches_list">;
export type MismatchGroupFilters = Filters<"v1_mismatch_groups_list">;

/** Paging of the list methods: `pageSize` per request (the server's `limit`), `maxItems` in all. */
export interface PageOptions {
  pageSize?: number;
  maxItems?: number;
}

/** Every POST takes an `Idempotency-Key`; given none, the SDK makes one (the same on every attempt). */
export interface Idempotent {
  idempotencyKey?: string;
}
