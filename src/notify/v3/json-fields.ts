import { parseRfc3339 } from './rfc3339';

/**
 * Reading checked fields out of APIv3 JSON (notification bodies and decrypted resources).
 * Readers throw a FieldProblem; readJson turns it into a typed error, so parsers read straight
 * through and the first problem found is the one reported.
 */

export type V3ParseErrorCode = 'INVALID_JSON' | 'MISSING_FIELD' | 'INVALID_FIELD';

/**
 * { code: 'INVALID_FIELD', message: 'amount.total must be a non-negative safe integer (fen), got a string' }
 */
interface V3ParseError {
  readonly code: V3ParseErrorCode;
  readonly message: string;
}

export type V3Parse<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: V3ParseError };

export type JsonObject = Readonly<Record<string, unknown>>;

class FieldProblem extends Error {
  constructor(
    readonly code: 'MISSING_FIELD' | 'INVALID_FIELD',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses `text` as a JSON object and hands it to `read`.
 *
 * readJson('{"a":"x"}', 'the body', (o) => stringField(o, 'a')) => { ok: true, value: 'x' }
 */
export function readJson<T>(text: string | Buffer, what: string, read: (root: JsonObject) => T): V3Parse<T> {
  let json: string;
  if (typeof text === 'string') {
    json = text;
  } else {
    try {
      json = new TextDecoder('utf-8', { fatal: true }).decode(text);
    } catch {
      return { ok: false, error: { code: 'INVALID_JSON', message: `${what} is not valid UTF-8` } };
    }
  }
  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch (e) {
    const why = e instanceof Error ? `: ${e.message.slice(0, 120)}` : '';
    return { ok: false, error: { code: 'INVALID_JSON', message: `${what} is not valid JSON${why}` } };
  }
  if (!isObject(root)) return { ok: false, error: { code: 'INVALID_JSON', message: `${what} must be a JSON object` } };
  try {
    return { ok: true, value: read(root) };
  } catch (e) {
    if (e instanceof FieldProblem) return { ok: false, error: { code: e.code, message: `${what}: ${e.message}` } };
    throw e;
  }
}

export interface StringRule {
  /** A RegExp, or any test of the whole value. */
  readonly pattern: { test(value: string): boolean };
  /** Completes "<name> must be ...". */
  readonly describe: string;
}

/** A required string; JSON null counts as absent. */
export function stringField(obj: JsonObject, key: string, rule?: StringRule, path = ''): string {
  const value = optionalStringField(obj, key, rule, path);
  if (value === undefined) throw new FieldProblem('MISSING_FIELD', `missing required field ${path}${key}`);
  return value;
}

export function optionalStringField(obj: JsonObject, key: string, rule?: StringRule, path = ''): string | undefined {
  const value = own(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${path}${key} must be a string, got ${kind(value)}`);
  if (rule && !rule.pattern.test(value)) throw invalid(`${path}${key} must be ${rule.describe}`);
  return value;
}

export function objectField(obj: JsonObject, key: string, path = ''): JsonObject {
  const value = optionalObjectField(obj, key, path);
  if (value === undefined) throw new FieldProblem('MISSING_FIELD', `missing required field ${path}${key}`);
  return value;
}

export function optionalObjectField(obj: JsonObject, key: string, path = ''): JsonObject | undefined {
  const value = own(obj, key);
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid(`${path}${key} must be an object, got ${kind(value)}`);
  return value;
}

/**
 * An amount in the currency's smallest unit: a JSON number that is a safe non-negative integer.
 * A string "100" is refused. JSON.parse in Node 20 does not keep the source text, so 1.0 and 1e2
 * read as the integers they equal; -0 is refused.
 */
export function amountField(obj: JsonObject, key: string, path = ''): number {
  const value = own(obj, key);
  if (value === undefined || value === null)
    throw new FieldProblem('MISSING_FIELD', `missing required field ${path}${key}`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || Object.is(value, -0)) {
    throw invalid(
      `${path}${key} must be a non-negative safe integer (fen), got ${typeof value === 'number' ? (Object.is(value, -0) ? '-0' : String(value)) : kind(value)}`,
    );
  }
  return value;
}

/** A required RFC 3339 time such as 2018-06-08T10:34:56+08:00, as an instant. */
export function timeField(obj: JsonObject, key: string, path = ''): Date {
  const value = optionalTimeField(obj, key, path);
  if (value === undefined) throw new FieldProblem('MISSING_FIELD', `missing required field ${path}${key}`);
  return value;
}

export function optionalTimeField(obj: JsonObject, key: string, path = ''): Date | undefined {
  const text = optionalStringField(obj, key, undefined, path);
  if (text === undefined) return undefined;
  const time = parseRfc3339(text);
  if (!time) throw invalid(`${path}${key} must be an RFC 3339 time such as 2018-06-08T10:34:56+08:00`);
  return time;
}

/** A rule that no single field can express, such as refund <= total. */
export function fieldRule(holds: boolean, message: string): void {
  if (!holds) throw invalid(message);
}

function invalid(message: string): FieldProblem {
  return new FieldProblem('INVALID_FIELD', message);
}

function own(obj: JsonObject, key: string): unknown {
  // Own properties only: "__proto__" or "constructor" in a body must not reach Object.prototype.
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
