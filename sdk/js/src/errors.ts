/** Errors carrying the server's envelope `{"error", "message", "fields"?}` (PRODUCT.md §9). */

export type Envelope = { error?: string; message?: string; [key: string]: unknown };

export interface AOSErrorOptions {
  status?: number | null;
  code?: string;
  envelope?: Envelope;
  headers?: Record<string, string>;
  cause?: unknown;
}

/** Any failed call. `code` is the envelope's `error`, `envelope` the whole decoded body. */
export class AOSError extends Error {
  readonly status: number | null;
  readonly code: string;
  readonly envelope: Envelope;
  /** Response headers, names lower-cased. */
  readonly headers: Record<string, string>;

  constructor(message: string, options: AOSErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.status = options.status ?? null;
    this.code = options.code ?? "error";
    this.envelope = options.envelope ?? {};
    this.headers = options.headers ?? {};
  }

  override toString(): string {
    return `${this.name}: ${this.status !== null ? `${this.status} ` : ""}${this.code}: ${this.message}`;
  }
}

/** The server could not be reached (or dropped the connection, or timed out) on every attempt. */
export class AOSConnectionError extends AOSError {}

/** 400: the request was refused; `fields` maps each offending field to its messages. */
export class ValidationError extends AOSError {
  get fields(): Record<string, string[]> {
    const raw = this.envelope.fields;
    if (typeof raw !== "object" || raw === null) return {};
    return Object.fromEntries(
      Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)]),
    );
  }
}

/** 401: no credentials, or credentials the server does not accept. */
export class AuthenticationError extends AOSError {}

/** 403: the credentials' role or tenant does not allow this. */
export class PermissionDeniedError extends AOSError {}

/** 404: no such object in your tenant (another tenant's objects are 404 too). */
export class NotFoundError extends AOSError {}

/** 409 (conflict, idempotency key in flight) or 422 (idempotency key reused with another payload). */
export class ConflictError extends AOSError {}

/** 429: over the tenant's rate or concurrency limit; `retryAfter` is in seconds (or null). */
export class RateLimitError extends AOSError {
  get retryAfter(): number | null {
    const value = this.envelope.retry_after;
    if (typeof value === "number" && Number.isFinite(value)) return value;
    return parseRetryAfter(this.headers["retry-after"]);
  }
}

/** 5xx: the server failed; retrying later may help. */
export class ServerError extends AOSError {}

/** Seconds from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | null {
  if (value === null || value === undefined || value.trim() === "") return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.max(0, Number(text));
  const when = Date.parse(text);
  if (Number.isNaN(when)) return null;
  return Math.max(0, (when - nowMs) / 1000);
}

const BY_STATUS: Record<number, typeof AOSError> = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: ConflictError,
  429: RateLimitError,
};

/** The error for a non-2xx answer, keeping its envelope (or the raw text when it is not JSON). */
export function errorFor(status: number, body: unknown, headers: Record<string, string>): AOSError {
  const envelope: Envelope =
    typeof body === "object" && body !== null && !Array.isArray(body)
      ? (body as Envelope)
      : { message: body === null || body === undefined ? "" : String(body) };
  const code = String(envelope.error || `http_${status}`);
  const message = String(envelope.message || envelope.detail || `HTTP ${status}`);
  const cls = BY_STATUS[status] ?? (status >= 500 ? ServerError : AOSError);
  return new cls(message, { status, code, envelope, headers });
}
