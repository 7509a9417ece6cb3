import { z } from 'zod';
import { SCOPES, type Caller, type Scope } from '../auth/scopes';
import type { Merchant } from '../notify/merchant';
import { comment, readJsonList } from './json-list';
import { checkEntry, must } from './schema-problems';
import { readSecret, secretFields } from './secrets';
import type { Sources } from './sources';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const SCOPE_NAMES = Object.keys(SCOPES) as [Scope, ...Scope[]];
const NAME_RULE = 'name must be 1 to 64 of letters, digits and ._-';
const SCOPES_RULE = `scopes must be a non-empty array of ${SCOPE_NAMES.join(', ')}`;
const MCH_IDS_RULE =
  'mch_ids must be a non-empty array of mch_id strings (digits): the merchants this caller may see and change; leave it out for all merchants';

/**
 * One caller of CALLERS_FILE / CALLERS_JSON: a service, its token and what it may do. Unknown
 * keys are refused: a misspelt "mch_id" instead of "mch_ids" would otherwise grant every merchant.
 * config/callers.schema.json is generated from this.
 */
export const callerEntrySchema = z
  .object(
    {
      _comment: comment(),
      name: z.string(must(NAME_RULE)).regex(NAME, NAME_RULE).describe('for logs and audit, e.g. "order-service"'),
      ...secretFields('token', 'the bearer token (24 to 256 printable characters)'),
      scopes: z
        .array(
          z.enum(SCOPE_NAMES, {
            errorMap: (_issue, ctx) => ({
              message: `scope ${JSON.stringify(ctx.data)} must be one of ${SCOPE_NAMES.join(', ')}`,
            }),
          }),
          must(SCOPES_RULE),
        )
        .min(1, SCOPES_RULE)
        .describe('what the caller may do (src/auth/scopes.ts)'),
      mch_ids: z
        .array(z.string(must(MCH_IDS_RULE)).regex(/^\d{1,32}$/, MCH_IDS_RULE), must(MCH_IDS_RULE))
        .min(1, MCH_IDS_RULE)
        .refine((ids) => new Set(ids).size === ids.length, 'mch_ids lists the same merchant twice')
        .optional()
        .describe(
          "the merchants (mch_id, or a provider's sub_mch_id) this caller may see and change; absent means all merchants",
        ),
    },
    must('must be an object'),
  )
  .strict();

const TOKEN_RULE = {
  field: 'token',
  pattern: /^[\x21-\x7e]{24,256}$/,
  shape: 'the token must be 24 to 256 printable characters without spaces',
} as const;

/**
 * Every caller of CALLERS_FILE / CALLERS_JSON, problems reported through `s.r`. With
 * `configuredIds` (every mch_id and sub_mch_id of the merchants files), a caller's mch_ids must
 * name configured merchants: a typo there would leave the service seeing nothing.
 */
export function readCallers(s: Sources, configuredIds: ReadonlySet<string> | undefined): Caller[] {
  const callers: Caller[] = [];
  for (const { where, entry } of readJsonList(s.r, 'CALLERS_FILE', 'CALLERS_JSON', 'callers', s.readFile) ?? []) {
    const name = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)['name'] : undefined;
    const at = typeof name === 'string' && NAME.test(name) ? `${where} (name ${name})` : where;
    const { problems, checked } = checkEntry(callerEntrySchema, entry, at, 'a caller');
    for (const p of problems) s.r.problem(p);
    if (!checked) continue;
    const before = s.r.problems.length;
    const token = readSecret(s, at, checked, TOKEN_RULE);
    const f = checked.valid;
    for (const id of f.mch_ids ?? []) {
      if (configuredIds && !configuredIds.has(id)) {
        s.r.problem(
          `${at}: mch_ids names ${id}, which is not a configured merchant (an mch_id or sub_mch_id of MERCHANTS_FILE / MERCHANTS_JSON); ` +
            'fix the id, or configure the merchant first',
        );
      }
    }
    if (
      problems.length > 0 ||
      s.r.problems.length > before ||
      token === undefined ||
      f.name === undefined ||
      f.scopes === undefined
    )
      continue;
    callers.push({ name: f.name, token, scopes: f.scopes, ...(f.mch_ids ? { mchIds: f.mch_ids } : {}) });
  }
  const names = callers.map((c) => c.name);
  if (new Set(names).size !== names.length) s.r.problem('two callers have the same name');
  if (new Set(callers.map((c) => c.token)).size !== callers.length)
    s.r.problem('two callers share a token; give each service its own');
  return callers;
}

/**
 * The callers whose mch_ids name a merchant that `merchants` do not configure (neither as mch_id
 * nor as sub_mch_id), one line each. Start-up refuses these; after a merchants reload (callers
 * are read only at start-up) they are worth a warning: such a caller sees nothing of that id, it
 * is never widened to other merchants.
 *
 * callerMerchantProblems([{ name: 'shop', mchIds: ['1900000009'], ... }], [{ mchId: '1900000001', ... }])
 *   => ['caller shop: mch_ids names 1900000009, which no configured merchant has; it sees nothing of it']
 */
export function callerMerchantProblems(callers: readonly Caller[], merchants: readonly Merchant[]): string[] {
  const configured = new Set(merchants.flatMap((m) => [m.mchId, ...(m.subMchIds ?? [])]));
  return callers.flatMap((c) =>
    (c.mchIds ?? [])
      .filter((id) => !configured.has(id))
      .map((id) => `caller ${c.name}: mch_ids names ${id}, which no configured merchant has; it sees nothing of it`),
  );
}
