/** aos-sdk: the AOS Control Plane client, canonical hashing and traces for Node.js 20+. */
export { AOSClient, RESOLUTION_KINDS, type AOSClientOptions, type WaitOptions } from "./client.js";
export { canonical, canonicalBytes, H, type Json } from "./canonical.js";
export {
  normalisePlan,
  planHash,
  inputHash,
  outputHash,
  stepHash,
  rootZero,
  rootNext,
  rootHash,
  STEP_STATUSES,
  type PlanStep,
  type StepStatus,
} from "./hashing.js";
export {
  Trace,
  HashError,
  verifyTrace,
  recompute,
  saveTrace,
  loadTrace,
  utcTimestamp,
  newTraceId,
  type TraceData,
  type TraceStepData,
  type TraceOptions,
  type AddStepOptions,
} from "./trace.js";
export { diffTraces, structuralDiff, firstDivergence, comparable, MISSING, type TraceDiff, type Divergence, type Difference } from "./diff.js";
export {
  AOSError,
  AOSConnectionError,
  ValidationError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  ServerError,
  parseRetryAfter,
  errorFor,
  type Envelope,
} from "./errors.js";
export { RetryPolicy, RETRY_STATUSES, type RetryOptions, type OnRetry } from "./http.js";
export type * from "./types.js";
export type { components, operations, paths } from "./schema.js";
export { VERSION } from "./version.js";
