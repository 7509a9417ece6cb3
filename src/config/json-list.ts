import { z, type ZodTypeAny } from 'zod';
import type { EnvReader } from '../env-reader';
import { closest } from './closest';
import { must, schemaProblems } from './schema-problems';
import type { ReadFile } from './sources';

/** `_comment`: notes for people, allowed (and ignored) at the top and in each entry, since JSON has no comments. */
export const comment = (): z.ZodOptional<z.ZodString> =>
  z.string(must('_comment must be a string')).optional().describe('free text for people; the core ignores it');

/**
 * A list file: a JSON array of entries, or {"<key>": [...]} with an optional "$schema" (the
 * JSON Schema an editor checks it with) and "_comment". Nothing else is allowed at the top.
 *
 * listFileSchema('merchants', merchantEntrySchema) accepts [{...}] and {"$schema": "./merchants.schema.json", "merchants": [{...}]}
 */
export function listFileSchema(key: string, entry: ZodTypeAny): ZodTypeAny {
  return z.union([z.array(entry), wrapperSchema(key, entry)]);
}

function wrapperSchema(key: string, entry: ZodTypeAny): z.AnyZodObject {
  return z
    .object({
      $schema: z
        .string(must('"$schema" must be a string: the path or URL of the JSON Schema'))
        .optional()
        .describe('the JSON Schema this file follows, for editors; the core does not read it'),
      _comment: comment(),
    })
    .extend({ [key]: z.array(entry) })
    .strict();
}

/**
 * Entries of a JSON list given as a file and/or inline, each with where it came from
 * ('MERCHANTS_FILE /etc/m.json entry #2'); undefined when neither variable is set.
 */
export function readJsonList(
  r: EnvReader,
  fileVar: string,
  inlineVar: string,
  key: string,
  readFile: ReadFile,
): Array<{ where: string; entry: unknown }> | undefined {
  const file = r.optional(fileVar);
  const inline = r.optional(inlineVar);
  if (!file && !inline) return undefined;
  const sources: Array<{ name: string; text: string }> = [];
  if (file) {
    try {
      sources.push({ name: `${fileVar} ${file}`, text: readFile(file) });
    } catch (e) {
      r.problem(`${fileVar} ${file} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (inline) sources.push({ name: inlineVar, text: inline });
  const wrapper = wrapperSchema(key, z.unknown());
  const entries: Array<{ where: string; entry: unknown }> = [];
  for (const source of sources) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(source.text);
    } catch {
      // JSON.parse quotes the text around the error, which may be a secret: say only where to look.
      r.problem(`${source.name} is not valid JSON (are all strings, including keys, in double quotes?)`);
      continue;
    }
    let list: unknown[];
    if (Array.isArray(parsed)) list = parsed;
    else if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as Record<string, unknown>)[key])) {
      list = (parsed as Record<string, unknown[]>)[key] ?? [];
      const top = wrapper.safeParse(parsed);
      if (!top.success)
        for (const p of schemaProblems(`${source.name} (top level)`, top.error.issues, wrapper, 'the top level'))
          r.problem(p);
    } else {
      const found = typeof parsed === 'object' && parsed !== null ? closest(key, Object.keys(parsed)) : undefined;
      r.problem(
        `${source.name} must be a JSON array or {"${key}": [...]}${found !== undefined ? ` (it has ${JSON.stringify(found)}: did you mean "${key}"?)` : ''}`,
      );
      continue;
    }
    list.forEach((entry: unknown, i: number) => entries.push({ where: `${source.name} entry #${i + 1}`, entry }));
  }
  return entries;
}
