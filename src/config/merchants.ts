import { z } from 'zod';
import type { Merchant } from '../notify/merchant';
import { SIGN_TYPES, type SignType } from '../notify/sign';
import { PUBLIC_KEY_ID, v3PlatformKeys } from '../notify/v3/platform-keys';
import { comment, readJsonList } from './json-list';
import { checkEntry, must, optionalString, type CheckedEntry } from './schema-problems';
import { hasSecret, readOptionalSecret, readSecret, secretFields, type SecretRule } from './secrets';
import type { Sources } from './sources';

const MCH_ID = /^\d{1,32}$/;
const APPID = /^[A-Za-z0-9_]{1,32}$/;
/** An offset is required: a rotation deadline in "local time" depends on the server's zone. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
/**
 * How far ahead previous_api_key_valid_until may be, from start-up or reload: the old key only
 * bridges WeChat's retries (about a day) during a rotation, and must not become a second
 * permanent key.
 */
export const MAX_PREVIOUS_KEY_OVERLAP_MS = 7 * 86_400_000;

const APPIDS = 'appids must be a non-empty array of app ids such as "wxd930ea5d5a258f4f"';
const SIGN_TYPES_RULE = `sign_types must be a non-empty array of ${SIGN_TYPES.join(', ')}`;
const VALID_UNTIL =
  'previous_api_key_valid_until must be an ISO 8601 time with an offset, e.g. "2026-03-01T00:00:00+08:00"';
const CERTIFICATES = 'platform_certificates must be an array of PEM file paths or inline PEM certificates';
const PUBLIC_KEYS = 'wechatpay_public_keys must be an array of {"id": "PUB_KEY_ID_...", "pem" or "pem_file": ...}';
const SUB_MCH_IDS = 'sub_mch_ids must be a non-empty array of mch_id strings (digits)';

const mchIdString = (message: string): z.ZodString => z.string(must(message)).regex(MCH_ID, message);

const publicKeyEntrySchema = z
  .object(
    {
      id: z
        .string(must('id must be a string'))
        .regex(
          PUBLIC_KEY_ID,
          'the id must look like PUB_KEY_ID_0114232134912410000000000000, as shown on the merchant platform',
        )
        .describe('the key id shown on the merchant platform, e.g. PUB_KEY_ID_0114232134912410000000000000'),
      pem: optionalString('pem must be a string: the PEM public key itself').describe(
        'the PEM public key (pub_key.pem) itself',
      ),
      pem_file: optionalString('pem_file must be a file path').describe('the path of pub_key.pem'),
    },
    must('must be {"id": "PUB_KEY_ID_...", and exactly one of "pem", "pem_file"}'),
  )
  .strict()
  .superRefine((k, ctx) => {
    if ((k.pem === undefined) === (k.pem_file === undefined))
      ctx.addIssue({ code: 'custom', message: 'set exactly one of "pem", "pem_file"' });
  });

/**
 * One merchant of MERCHANTS_FILE / MERCHANTS_JSON: the shape of each field. Unknown keys are
 * refused, so a misspelt setting cannot be silently ignored. What ties fields together (one key
 * source, a deadline with its previous key, ...) and what needs reading (key files, PEMs) is
 * checked in readMerchant. config/merchants.schema.json is generated from this.
 */
export const merchantEntrySchema = z
  .object(
    {
      _comment: comment(),
      mch_id: mchIdString('mch_id must be a string of digits').describe(
        'the WeChat Pay merchant number, e.g. "1230000109"',
      ),
      appids: z
        .array(z.string(must(APPIDS)).regex(APPID, APPIDS), must(APPIDS))
        .min(1, APPIDS)
        .describe('the app ids whose payments this merchant receives'),
      ...secretFields('api_key', 'the API v2 key (32 letters or digits)'),
      sign_types: z
        .array(
          z.enum(SIGN_TYPES as [SignType, ...SignType[]], {
            errorMap: (_issue, ctx) => ({
              message: `sign_types entry ${JSON.stringify(ctx.data)} must be one of ${SIGN_TYPES.join(', ')}`,
            }),
          }),
          must(SIGN_TYPES_RULE),
        )
        .min(1, SIGN_TYPES_RULE)
        .optional()
        .describe('the signature algorithms accepted; default both (a notification without sign_type is MD5)'),
      ...secretFields('previous_api_key', 'the v2 key being rotated away'),
      previous_api_key_valid_until: optionalString(VALID_UNTIL, ISO_INSTANT).describe(
        'until when previous_api_key still verifies: an ISO 8601 time with an offset, at most 7 days after start-up or reload',
      ),
      ...secretFields('apiv3_key', 'the APIv3 key (32 bytes)'),
      platform_certificates: z
        .array(z.string(must(CERTIFICATES)).min(1, CERTIFICATES), must(CERTIFICATES))
        .optional()
        .describe('PEM platform certificates: file paths or the PEM text'),
      wechatpay_public_keys: z
        .array(publicKeyEntrySchema, must(PUBLIC_KEYS))
        .optional()
        .describe('WeChat Pay public keys that sign APIv3 notifications'),
      sub_mch_ids: z
        .array(mchIdString(SUB_MCH_IDS), must(SUB_MCH_IDS))
        .min(1, SUB_MCH_IDS)
        .refine((ids) => new Set(ids).size === ids.length, 'sub_mch_ids lists the same sub-merchant twice')
        .optional()
        .describe("service providers: the sub-merchants whose notifications this merchant's keys sign"),
      confirm_refunds_with_query: z
        .boolean(must('confirm_refunds_with_query must be true or false (a JSON boolean)'))
        .optional()
        .describe(
          'confirm each v2 refund SUCCESS with a signed refundquery before crediting it; default true with PAYMENT_CALLBACK_ENV=production, false otherwise',
        ),
    },
    must('must be an object'),
  )
  .strict();

type MerchantEntry = z.infer<typeof merchantEntrySchema>;

/**
 * Every merchant of MERCHANTS_FILE / MERCHANTS_JSON, problems reported through `s.r`.
 * `configuredIds`: every mch_id and sub_mch_id the files name, valid entries or not, for the
 * callers' mch_ids (an entry with a problem has its own message; its id is not unknown).
 */
export function readMerchants(
  s: Sources,
  now: Date,
): { merchants: Merchant[]; configuredIds: ReadonlySet<string> | undefined } {
  const entries = readJsonList(s.r, 'MERCHANTS_FILE', 'MERCHANTS_JSON', 'merchants', s.readFile);
  if (entries === undefined) {
    s.r.problem('no merchants configured: set MERCHANTS_FILE or MERCHANTS_JSON (see docs/configuration.md)');
    return { merchants: [], configuredIds: undefined };
  }
  const merchants: Merchant[] = [];
  const configuredIds = new Set<string>();
  for (const { where, entry } of entries) {
    const mchId =
      typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)['mch_id'] : undefined;
    const at = typeof mchId === 'string' && MCH_ID.test(mchId) ? `${where} (mch_id ${mchId})` : where;
    const { problems, checked } = checkEntry(merchantEntrySchema, entry, at, 'a merchant');
    for (const p of problems) s.r.problem(p);
    if (!checked) continue;
    if (checked.valid.mch_id !== undefined) configuredIds.add(checked.valid.mch_id);
    for (const sub of checked.valid.sub_mch_ids ?? []) configuredIds.add(sub);
    const m = readMerchant(s, at, checked, now, problems.length === 0);
    if (m) merchants.push(m);
  }

  const seen = new Set<string>();
  for (const m of merchants) {
    if (seen.has(m.mchId)) s.r.problem(`mch_id ${m.mchId} is configured twice`);
    seen.add(m.mchId);
  }
  // An order's mch_id must name one merchant configuration, or its notifications could be
  // authenticated with two different keys.
  const providerOf = new Map<string, string>();
  for (const m of merchants) {
    for (const sub of m.subMchIds ?? []) {
      if (seen.has(sub))
        s.r.problem(`sub_mch_id ${sub} of mch_id ${m.mchId} is also configured as a merchant of its own`);
      const other = providerOf.get(sub);
      if (other !== undefined) s.r.problem(`sub_mch_id ${sub} is listed by both mch_id ${other} and mch_id ${m.mchId}`);
      providerOf.set(sub, m.mchId);
    }
  }
  return { merchants, configuredIds };
}

/** The relations between fields and the reads of keys; a Merchant when all is well. */
function readMerchant(
  s: Sources,
  where: string,
  entry: CheckedEntry<MerchantEntry>,
  now: Date,
  shapeOk: boolean,
): Merchant | undefined {
  const before = s.r.problems.length;
  const f = entry.valid;
  const apiKey = readSecret(s, where, entry, V2_KEY_RULE);
  const previousApiKey = readPreviousApiKey(s, where, entry, apiKey, now);
  const v3 = readV3(s, where, entry, now);
  if (f.mch_id !== undefined && f.sub_mch_ids?.includes(f.mch_id))
    s.r.problem(`${where}: sub_mch_ids must not list the provider's own mch_id ${f.mch_id}`);
  if (
    !shapeOk ||
    s.r.problems.length > before ||
    apiKey === undefined ||
    f.mch_id === undefined ||
    f.appids === undefined
  )
    return undefined;
  // Optional settings are left out when absent, so a v2-only merchant reads as it always did.
  return {
    mchId: f.mch_id,
    appids: f.appids,
    apiKey,
    signTypes: f.sign_types ?? [...SIGN_TYPES],
    ...(previousApiKey ? { previousApiKey } : {}),
    ...(v3 ? { apiV3Key: v3.apiV3Key, v3Keys: v3.keys } : {}),
    ...(f.sub_mch_ids ? { subMchIds: f.sub_mch_ids } : {}),
    // On by default in production: without it, one captured v2 refund notification can be re-cut
    // (AES-ECB blocks dropped or repeated inside a free-text value) into refunds WeChat never made.
    ...((f.confirm_refunds_with_query ?? s.mode === 'production') ? { confirmRefundsWithQuery: true } : {}),
  };
}

const V2_KEY_RULE: SecretRule = {
  field: 'api_key',
  pattern: /^[A-Za-z0-9]{32}$/,
  shape: 'the API key must be 32 letters or digits',
};

/** Key rotation: the old v2 key and the instant after which it no longer verifies. */
function readPreviousApiKey(
  s: Sources,
  where: string,
  entry: CheckedEntry<MerchantEntry>,
  apiKey: string | undefined,
  now: Date,
): Merchant['previousApiKey'] | undefined {
  const rule = {
    ...V2_KEY_RULE,
    field: 'previous_api_key',
    shape: 'the previous API key must be 32 letters or digits',
  };
  const keyGiven = hasSecret(entry, 'previous_api_key');
  const untilGiven = entry.given.has('previous_api_key_valid_until');
  if (!keyGiven && !untilGiven) return undefined;
  if (!keyGiven || !untilGiven) {
    s.r.problem(`${where}: previous_api_key (or _env, _file) and previous_api_key_valid_until go together`);
    return undefined;
  }
  const key = readOptionalSecret(s, where, entry, rule);
  const until = entry.valid.previous_api_key_valid_until;
  if (until === undefined) return undefined;
  const validUntil = new Date(until);
  if (Number.isNaN(validUntil.getTime())) {
    s.r.problem(`${where}: ${VALID_UNTIL}`);
    return undefined;
  }
  if (validUntil.getTime() - now.getTime() > MAX_PREVIOUS_KEY_OVERLAP_MS) {
    s.r.problem(
      `${where}: previous_api_key_valid_until ${until} is more than 7 days after now (${now.toISOString()}); ` +
        'the previous key only bridges a rotation (WeChat retries for about a day), it is not a second permanent key: ' +
        'set a deadline at most 7 days ahead, and remove previous_api_key once it has passed',
    );
    return undefined;
  }
  if (key === undefined) return undefined;
  if (key === apiKey)
    s.r.problem(`${where}: previous_api_key is the same as the current key; remove it, or set the new key as api_key`);
  return { key, validUntil };
}

/** APIv3: the key that decrypts resources and the keys that verify signatures, or neither. */
function readV3(
  s: Sources,
  where: string,
  entry: CheckedEntry<MerchantEntry>,
  now: Date,
): { apiV3Key: string; keys: NonNullable<Merchant['v3Keys']> } | undefined {
  // AES-256: 32 bytes. WeChat's own public test vector (wechatpay-go) uses a 16-byte key, which
  // development accepts so the vector can be replayed through the real service.
  const production = s.mode === 'production';
  const lengths = production ? '32' : '32 (16 in development, for the public test vector)';
  const apiV3Key = readOptionalSecret(s, where, entry, {
    field: 'apiv3_key',
    pattern: production ? /^[\x21-\x7e]{32}$/ : /^(?:[\x21-\x7e]{32}|[\x21-\x7e]{16})$/,
    shape: `the APIv3 key must be ${lengths} printable ASCII characters`,
  });
  const anyKeys = entry.given.has('platform_certificates') || entry.given.has('wechatpay_public_keys');
  if (!hasSecret(entry, 'apiv3_key') && !anyKeys) return undefined;
  if (!hasSecret(entry, 'apiv3_key')) {
    s.r.problem(
      `${where}: platform_certificates / wechatpay_public_keys need apiv3_key (or _env, _file) to decrypt APIv3 notifications`,
    );
    return undefined;
  }
  if (!anyKeys) {
    s.r.problem(
      `${where}: apiv3_key needs platform_certificates or wechatpay_public_keys to verify APIv3 notifications`,
    );
    return undefined;
  }
  // A key list that failed the schema has its problem reported; building from the rest would
  // only add a misleading "no keys".
  if (['platform_certificates', 'wechatpay_public_keys'].some((k) => entry.given.has(k) && !(k in entry.valid)))
    return undefined;
  const before = s.r.problems.length;
  const certificates: string[] = [];
  for (const [i, c] of (entry.valid.platform_certificates ?? []).entries()) {
    const pem = readPem(s, `${where}: platform_certificates[${i}]`, c);
    if (pem !== undefined) certificates.push(pem);
  }
  const publicKeys: Array<{ id: string; pem: string }> = [];
  for (const [i, k] of (entry.valid.wechatpay_public_keys ?? []).entries()) {
    const pem =
      k.pem ?? (k.pem_file !== undefined ? readPem(s, `${where}: wechatpay_public_keys[${i}]`, k.pem_file) : undefined);
    if (pem !== undefined) publicKeys.push({ id: k.id, pem });
  }
  // Keys that failed the schema or could not be read have their own problem already.
  if (apiV3Key === undefined || s.r.problems.length > before) return undefined;
  const built = v3PlatformKeys({ certificates, publicKeys }, now);
  if (!built.ok) {
    s.r.problem(`${where}: ${built.error.message}`);
    return undefined;
  }
  return { apiV3Key, keys: built.keys };
}

/** A PEM given inline, or the path of a file holding it. */
function readPem(s: Sources, where: string, value: string): string | undefined {
  if (value.includes('-----BEGIN')) return value;
  try {
    return s.readFile(value);
  } catch {
    s.r.problem(`${where}: ${value} cannot be read (give a PEM file path, or the PEM itself)`);
    return undefined;
  }
}
