/**
 * One HTTP exchange with retries: 429/502/503/504 and network errors (timeouts included),
 * `Retry-After` honoured, otherwise exponential backoff with full jitter.
 *
 * A POST carries one `Idempotency-Key` on every attempt (generated when the caller gives none): when
 * the server committed but the answer was lost, the retry gets the stored answer (PRODUCT.md §7).
 */
import { randomUUID } from "node:crypto";
import { AOSConnectionError, AOSError, errorFor, parseRetryAfter } from "./errors.js";

export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface RetryOptions {
  maxRetries?: number;
  /** Backoff base and cap in milliseconds: attempt n waits uniform [0, min(cap, base * 2^n)]. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown at once. */
  maxRetryAfterMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

export class RetryPolicy {
  readonly maxRetries: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  readonly maxRetryAfterMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly random: () => number;

  constructor(options: RetryOptions = {}) {
    this.maxRetries = options.maxRetries ?? 3;
    this.backoffBaseMs = options.backoffBaseMs ?? 500;
    this.backoffCapMs = options.backoffCapMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Full jitter: uniform in [0, min(cap, base * 2^attempt)] milliseconds. */
  backoff(attempt: number): number {
    return this.random() * Math.min(this.backoffCapMs, this.backoffBaseMs * 2 ** attempt);
  }
}

/** Called before each retry: attempt number (1 = first retry), the wait in ms, and why. */
export type OnRetry = (attempt: number, delayMs: number, reason: string) => void;

export interface SendOptions {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: unknown;
  idempotencyKey?: string | undefined;
  timeoutMs: number;
  policy: RetryPolicy;
  fetch: typeof globalThis.fetch;
  onRetry?: OnRetry | undefined;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

async function decode(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function retryable(status: number, error: AOSError, attempt: number): boolean {
  if (RETRY_STATUSES.has(status)) return true;
  // Our own earlier attempt may still be executing on the server: wait for its stored answer.
  return attempt > 0 && error.code === "idempotency_in_progress";
}

/** The first 2xx/3xx answer, else the error it maps to; retries what is safe to retry. */
export async function send(options: SendOptions): Promise<Answer> {
  const { method, url, policy } = options;
  const headers: Record<string, string> = { ...options.headers };
  if (method === "POST") headers["Idempotency-Key"] = options.idempotencyKey || `sdk-${randomUUID().replaceAll("-", "")}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  for (let attempt = 0; ; attempt++) {
    let delay: number;
    let reason: string;
    let response: Response;
    try {
      response = await options.fetch(url, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        redirect: "manual",
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (exc) {
      const name = exc instanceof Error ? exc.name : "Error";
      const detail = exc instanceof Error ? ((exc.cause as Error | undefined)?.message ?? exc.message) : String(exc);
      if (attempt >= policy.maxRetries) {
        throw new AOSConnectionError(`${method} ${url.href}: ${name}: ${detail}`, { code: "connection_error", cause: exc });
      }
      delay = policy.backoff(attempt);
      reason = name;
      options.onRetry?.(attempt + 1, delay, reason);
      await policy.sleep(delay);
      continue;
    }
    const body = await decode(response);
    const answerHeaders = headerRecord(response.headers);
    if (response.status < 400) return { status: response.status, headers: answerHeaders, body };
    const error = errorFor(response.status, body, answerHeaders);
    if (!retryable(response.status, error, attempt) || attempt >= policy.maxRetries) throw error;
    const waitS = parseRetryAfter(answerHeaders["retry-after"], policy.now());
    if (waitS !== null && waitS * 1000 > policy.maxRetryAfterMs) throw error;
    delay = waitS !== null ? waitS * 1000 : policy.backoff(attempt);
    reason = `HTTP ${response.status}`;
    options.onRetry?.(attempt + 1, delay, reason);
    await policy.sleep(delay);
  }
}
