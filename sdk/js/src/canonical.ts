/**
 * Canonical JSON (RFC 8785, JCS) and H(x) = lower-case hex SHA-256 of it (PRODUCT.md §3).
 *
 * The serialisation is the `canonicalize` package (RFC 8785 reference behaviour: ECMAScript number
 * formatting, UTF-16 key order, NaN/Infinity and lone surrogates refused). Before it runs, values JSON
 * cannot carry (functions, symbols, bigints, a top-level undefined) are refused here: `canonicalize`
 * would otherwise write them as the text `undefined`, which is not JSON and matches no server hash.
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/** A JSON value as the hashing sees it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function assertJson(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case "function":
    case "symbol":
    case "bigint":
      throw new TypeError(`${path}: a ${typeof value} is not a JSON value`);
    case "object":
      if (value === null || seen.has(value)) return; // canonicalize reports cycles itself
      seen.add(value);
      for (const [key, item] of Object.entries(value)) assertJson(item, `${path}.${key}`, seen);
      seen.delete(value);
      return;
    default:
      return;
  }
}

/** The RFC 8785 canonical text of a JSON value. */
export function canonical(value: unknown): string {
  if (value === undefined) throw new TypeError("undefined is not a JSON value");
  assertJson(value, "$", new Set());
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("the value has no JSON form");
  return text;
}

/** The canonical form as UTF-8 bytes (what is hashed). */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonical(value), "utf8");
}

/** Lower-case hex SHA-256 of the canonical form (64 characters, never truncated). */
export function H(value: unknown): string {
  return createHash("sha256").update(canonicalBytes(value)).digest("hex");
}
