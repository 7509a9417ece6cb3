import { z } from 'zod';
import { publicExampleKey } from './public-keys';
import { must, optionalString } from './schema-problems';
import type { Sources } from './sources';

/** What an environment variable may be called (Kubernetes allows more than POSIX): printable, no "=" or space. */
const ENV_NAME = /^[\x21-\x3c\x3e-\x7e]{1,256}$/;

/**
 * The three ways to give one secret, as schema fields: `api_key` inline, `api_key_env` (the
 * name of an environment variable) or `api_key_file` (a file, e.g. a mounted Secret). The value
 * is checked once read (SecretRule), whichever way it came.
 */
export function secretFields<F extends string>(
  field: F,
  what: string,
): Record<F | `${F}_env` | `${F}_file`, z.ZodOptional<z.ZodString>> {
  return {
    // Any string: an empty or malformed key is measured against its rule once read, as the
    // other two ways are.
    [field]: z
      .string(must(`${field} must be a string: ${what} itself`))
      .optional()
      .describe(`${what}, inline; or ${field}_env, or ${field}_file`),
    [`${field}_env`]: optionalString(
      `${field}_env must be the name of an environment variable, e.g. "WXPAY_KEY_1230000109"`,
      ENV_NAME,
    ).describe(`the environment variable holding ${what}`),
    [`${field}_file`]: optionalString(`${field}_file must be a file path`).describe(
      `a file holding ${what}, e.g. a mounted Secret; a trailing newline is trimmed`,
    ),
  } as Record<F | `${F}_env` | `${F}_file`, z.ZodOptional<z.ZodString>>;
}

export interface SecretRule {
  /** The entry's field prefix: `api_key` reads api_key, api_key_env or api_key_file. */
  readonly field: string;
  readonly pattern: RegExp;
  /** What the value must look like, for the error (the value itself is never echoed). */
  readonly shape: string;
}

/** The keys of `entry` (given ones, valid or not) and the values that passed the schema. */
export interface SecretEntry {
  readonly given: ReadonlySet<string>;
  readonly valid: Readonly<Record<string, unknown>>;
}

/**
 * A secret from exactly one of its three fields; undefined (with a problem) when none or several
 * are set, when it cannot be read, or when it does not fit `rule`. Production refuses a key
 * published as an example (publicExampleKey) whichever field it came through.
 */
export function readSecret(s: Sources, where: string, entry: SecretEntry, rule: SecretRule): string | undefined {
  const { field } = rule;
  const given = [field, `${field}_env`, `${field}_file`].filter((k) => entry.given.has(k));
  if (given.length !== 1) {
    s.r.problem(`${where}: set exactly one of ${field}, ${field}_env, ${field}_file`);
    return undefined;
  }
  const slot = given[0] as string;
  const raw = entry.valid[slot];
  // A field that failed the schema has its problem reported already.
  if (typeof raw !== 'string') return undefined;
  let value: string | undefined;
  if (slot === field) value = raw;
  else if (slot === `${field}_env`) {
    s.envNamesRead.add(raw);
    value = s.env[raw];
    if (value === undefined) s.r.problem(`${where}: ${field}_env names ${raw}, which is not set`);
  } else {
    try {
      value = s.readFile(raw).trim();
    } catch {
      s.r.problem(`${where}: ${field}_file ${raw} cannot be read`);
    }
  }
  if (value === undefined) return undefined;
  if (!rule.pattern.test(value)) {
    s.r.problem(`${where}: ${rule.shape} (it has ${value.length} characters)`);
    return undefined;
  }
  const published = publicExampleKey(value);
  if (published !== undefined && s.mode === 'production') {
    s.r.problem(
      `${where}: ${slot} ${slot === field ? 'is' : 'gives'} ${published}; anyone can sign with it, so it cannot be used with ` +
        'PAYMENT_CALLBACK_ENV=production: set the key from the merchant platform (pay.weixin.qq.com)',
    );
    return undefined;
  }
  return value;
}

/** The same, for a secret that may be left out: undefined when none of its three fields is set. */
export function readOptionalSecret(
  s: Sources,
  where: string,
  entry: SecretEntry,
  rule: SecretRule,
): string | undefined {
  return hasSecret(entry, rule.field) ? readSecret(s, where, entry, rule) : undefined;
}

export function hasSecret(entry: SecretEntry, field: string): boolean {
  return [field, `${field}_env`, `${field}_file`].some((k) => entry.given.has(k));
}
