// The JSON Schemas of the merchants and callers files (config/*.schema.json), generated from the
// zod schemas the core loads them with (src/config/merchants.ts, src/config/callers.ts), for
// editors ("$schema") and for checking a file before deploying it. Never edit the .json files:
// `make config-schemas` writes them; test/unit/config-schemas.test.ts fails when they differ.
//
//   node dist/tools/config-schemas.js           write config/*.schema.json
//   node dist/tools/config-schemas.js --check   exit 1 when they are not what this generates

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { callerEntrySchema } from '../src/config/callers';
import { listFileSchema } from '../src/config/json-list';
import { merchantEntrySchema } from '../src/config/merchants';

export const REPO_ROOT = join(__dirname, '../..');

type JsonObject = Record<string, unknown>;

/** exactly one of field, field_env, field_file (the loader's "set exactly one of ..."). */
const oneSecret = (field: string): JsonObject => ({
  oneOf: [{ required: [field] }, { required: [`${field}_env`] }, { required: [`${field}_file`] }],
});

/**
 * The rules the loader checks in code rather than in the zod shapes (src/config/merchants.ts
 * readMerchant, src/config/callers.ts readCallers) and that JSON Schema can say simply. The
 * others (a deadline with its previous key, apiv3_key with verification keys, key lengths after
 * reading a file) only the loader checks.
 */
function merchantRules(merchant: JsonObject): void {
  Object.assign(merchant, oneSecret('api_key'));
  const properties = merchant['properties'] as Record<string, JsonObject>;
  Object.assign(properties['sub_mch_ids'] as JsonObject, { uniqueItems: true });
  const publicKey = (properties['wechatpay_public_keys'] as JsonObject)['items'] as JsonObject;
  Object.assign(publicKey, { oneOf: [{ required: ['pem'] }, { required: ['pem_file'] }] });
}

function callerRules(caller: JsonObject): void {
  Object.assign(caller, oneSecret('token'));
  Object.assign((caller['properties'] as Record<string, JsonObject>)['mch_ids'] as JsonObject, { uniqueItems: true });
}

// zod-to-json-schema's own signature makes tsc instantiate the schema types too deeply.
const toJsonSchema = zodToJsonSchema as unknown as (schema: ZodTypeAny, options: object) => JsonObject;

function fileJsonSchema(
  title: string,
  key: string,
  entryName: string,
  entry: ZodTypeAny,
  rules: (entry: JsonObject) => void,
): JsonObject {
  const schema = toJsonSchema(listFileSchema(key, entry), {
    target: 'jsonSchema7',
    definitions: { [entryName]: entry },
    $refStrategy: 'root',
  });
  rules((schema['definitions'] as Record<string, JsonObject>)[entryName] as JsonObject);
  return {
    $schema: schema['$schema'],
    title,
    description: `A ${key} file of payment-callback (docs/configuration.md). Generated from src/config/ by make config-schemas; do not edit.`,
    ...schema,
  };
}

/** File name (under config/) => its text. */
export function configSchemas(): Record<string, string> {
  const text = (schema: JsonObject): string => `${JSON.stringify(schema, null, 2)}\n`;
  return {
    'merchants.schema.json': text(
      fileJsonSchema(
        'payment-callback merchants (MERCHANTS_FILE)',
        'merchants',
        'merchant',
        merchantEntrySchema,
        merchantRules,
      ),
    ),
    'callers.schema.json': text(
      fileJsonSchema('payment-callback callers (CALLERS_FILE)', 'callers', 'caller', callerEntrySchema, callerRules),
    ),
  };
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, text] of Object.entries(configSchemas())) {
    const path = join(REPO_ROOT, 'config', name);
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    if (check) {
      process.stderr.write(`config/${name} is not what src/config/ generates: run make config-schemas\n`);
      stale++;
    } else {
      writeFileSync(path, text);
      process.stdout.write(`wrote config/${name}\n`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
