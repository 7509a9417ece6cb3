import { z, type ZodIssue, type ZodTypeAny } from 'zod';
import { closest } from './closest';

/**
 * Schema parameters giving every issue a node raises (wrong type, too short...) one message, so
 * that the operator reads the rule ("appids must be a non-empty array of app ids") rather than
 * zod's generic wording, which can also quote the value, and values may be secrets.
 *
 * z.boolean(must('confirm_refunds_with_query must be true or false (a JSON boolean)'))
 */
export function must(message: string): { errorMap: z.ZodErrorMap } {
  return { errorMap: () => ({ message }) };
}

/** An optional string field with one message for any problem. */
export function optionalString(message: string, pattern?: RegExp): z.ZodOptional<z.ZodString> {
  const s = z.string(must(message));
  return (pattern ? s.regex(pattern, message) : s.min(1, message)).optional();
}

/**
 * The problems of one entry, one line each, in the order the schema found them, without
 * repeats (three bad app ids are one problem). Unknown keys are named with the closest known key.
 *
 * schemaProblems('MERCHANTS_JSON entry #1 (mch_id 1900000001)', [{ code: 'unrecognized_keys', keys: ['mch_ids'], path: [] }], merchantEntrySchema, 'a merchant')
 *   => ['MERCHANTS_JSON entry #1 (mch_id 1900000001): unknown key "mch_ids" (did you mean "mch_id"?)']
 */
export function schemaProblems(where: string, issues: readonly ZodIssue[], schema: ZodTypeAny, what: string): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    const at = objectPrefix(schema, issue.path);
    if (issue.code === 'unrecognized_keys') {
      const allowed = keysAt(schema, issue.path);
      const inside = issue.path.length > 0 ? ` in ${pathText(issue.path)}` : '';
      for (const key of issue.keys) {
        const guess = closest(key, allowed);
        problems.push(
          `${where}: unknown key ${JSON.stringify(key)}${inside}${
            guess !== undefined
              ? ` (did you mean ${JSON.stringify(guess)}?)`
              : `; ${inside ? 'it' : what} takes only ${allowed.join(', ')}`
          }`,
        );
      }
    } else if (issue.path.length === 0) {
      problems.push(`${where} ${issue.message}`);
    } else {
      problems.push(`${where}: ${at ? `${at}: ` : ''}${issue.message}`);
    }
  }
  return [...new Set(problems)];
}

/** ['wechatpay_public_keys', 0, 'pem'] => 'wechatpay_public_keys[0].pem' */
function pathText(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * The path of the innermost array element that is an object, for issues inside it: its own
 * messages ("set exactly one of pem, pem_file") do not know which element they are about.
 */
function objectPrefix(schema: ZodTypeAny, path: ReadonlyArray<string | number>): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    if (typeof path[i] === 'number' && unwrap(nodeAt(schema, path.slice(0, i + 1))) instanceof z.ZodObject)
      return pathText(path.slice(0, i + 1));
  }
  return undefined;
}

/** The keys an object at `path` of `schema` takes. */
function keysAt(schema: ZodTypeAny, path: ReadonlyArray<string | number>): string[] {
  const node = unwrap(nodeAt(schema, path));
  return node instanceof z.ZodObject ? Object.keys(node.shape as Record<string, unknown>) : [];
}

function nodeAt(schema: ZodTypeAny, path: ReadonlyArray<string | number>): ZodTypeAny | undefined {
  let node: ZodTypeAny | undefined = schema;
  for (const segment of path) {
    node = unwrap(node);
    if (node instanceof z.ZodArray && typeof segment === 'number') node = node.element as ZodTypeAny;
    else if (node instanceof z.ZodObject && typeof segment === 'string')
      node = (node.shape as Record<string, ZodTypeAny>)[segment];
    else return undefined;
  }
  return node;
}

function unwrap(node: ZodTypeAny | undefined): ZodTypeAny | undefined {
  let n = node;
  for (;;) {
    if (n instanceof z.ZodOptional || n instanceof z.ZodNullable) n = n.unwrap() as ZodTypeAny;
    else if (n instanceof z.ZodEffects) n = n.innerType() as ZodTypeAny;
    else if (n instanceof z.ZodDefault) n = n.removeDefault() as ZodTypeAny;
    else return n;
  }
}

/**
 * An entry checked field by field: which keys it gives (valid or not) and the values of those
 * that passed the schema. The rules between fields ("exactly one of api_key, api_key_env,
 * api_key_file") and the reads of key files work on this, so one bad field does not hide the
 * problems of the others: the operator sees every problem in one pass.
 */
export interface CheckedEntry<T> {
  readonly given: ReadonlySet<string>;
  readonly valid: Partial<T>;
}

/**
 * Runs `schema` (a strict object) on `entry`: its problems, and the entry split into the keys it
 * gives and the fields that passed. undefined `checked` when the entry is not an object at all.
 */
export function checkEntry<S extends z.AnyZodObject>(
  schema: S,
  entry: unknown,
  where: string,
  what: string,
): { problems: string[]; checked: CheckedEntry<z.infer<S>> | undefined } {
  const result = schema.safeParse(entry);
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return {
      problems: result.success ? [] : schemaProblems(where, result.error.issues, schema, what),
      checked: undefined,
    };
  }
  const record = entry as Record<string, unknown>;
  const known = keysAt(schema, []);
  const failed = new Set(
    result.success ? [] : result.error.issues.map((i) => i.path[0]).filter((k): k is string => typeof k === 'string'),
  );
  const given = new Set(Object.keys(record).filter((k) => record[k] !== undefined));
  // Each known field was checked on its own by the schema: the ones without an issue have the
  // type the schema declares.
  const valid = Object.fromEntries(
    known.filter((k) => given.has(k) && !failed.has(k)).map((k) => [k, record[k]]),
  ) as Partial<z.infer<S>>;
  return {
    problems: result.success ? [] : schemaProblems(where, result.error.issues, schema, what),
    checked: { given, valid },
  };
}
