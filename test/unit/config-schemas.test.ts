// The JSON Schemas of the merchants and callers files (config/*.schema.json): generated from the
// zod schemas the core loads with, never edited by hand; every example file in config/ passes
// both the JSON Schema (ajv) and the core's own loader; and the two agree on a table of
// documents, so an editor's verdict is the core's.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Ajv from 'ajv';
import { readCoreConfig, readMerchantsConfig } from '../../src/config';
import { ConfigError } from '../../src/env-reader';
import { configSchemas, REPO_ROOT } from '../support/config-schemas';

const CONFIG_DIR = join(REPO_ROOT, 'config');
const KEY_A = 'Abcdefghijklmnopqrstuvwxyz012345';
const TOKEN = 'gateway-token-0123456789abcdef';
const NOW = new Date('2026-11-27T04:00:00Z');

// Ajv's defaults: unknown keywords are errors; strictRequired stays off for the oneOf-of-required idiom.
const ajv = new Ajv({ allErrors: true });
const schemaOf = (name: string): object => JSON.parse(readFileSync(join(CONFIG_DIR, name), 'utf8')) as object;
const validateMerchants = ajv.compile(schemaOf('merchants.schema.json'));
const validateCallers = ajv.compile(schemaOf('callers.schema.json'));

/** Every key path holds a well-formed key (the examples' paths are Secrets); an "old" one another. */
const anyKeyFile = (path: string): string => {
  if (path.endsWith('.pem')) assert.fail(`no PEM fixture for ${path}`);
  return path.includes('old') ? 'Old0efghijklmnopqrstuvwxyz012345' : KEY_A;
};

function loads(run: () => unknown): { ok: true } | { ok: false; problems: readonly string[] } {
  try {
    run();
    return { ok: true };
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return { ok: false, problems: e.problems };
  }
}

describe('config/*.schema.json are what src/config/ generates (make config-schemas)', () => {
  for (const [name, text] of Object.entries(configSchemas())) {
    test(name, () => assert.equal(readFileSync(join(CONFIG_DIR, name), 'utf8'), text, `config/${name} is stale or edited by hand: run make config-schemas`));
  }
});

describe('every example merchants file passes the JSON Schema and the loader', () => {
  const examples = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
    .filter((f) => 'merchants' in (JSON.parse(readFileSync(join(CONFIG_DIR, f), 'utf8')) as object));
  test('config/ has at least one', () => assert.ok(examples.length > 0));
  for (const file of examples) {
    const path = join(CONFIG_DIR, file);
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    test(`config/${file}: JSON Schema`, () => assert.ok(validateMerchants(json), ajv.errorsText(validateMerchants.errors)));
    test(`config/${file}: refers to its JSON Schema with "$schema"`, () => assert.equal(json['$schema'], './merchants.schema.json'));
    test(`config/${file}: the loader (development: the examples use WeChat's public demo key)`, () => {
      const merchants = readMerchantsConfig({ MERCHANTS_FILE: path }, (p) => (p === path ? readFileSync(p, 'utf8') : anyKeyFile(p)), NOW);
      assert.ok(merchants.length > 0);
    });
  }
  // The Kubernetes example files: the manifests test loads them; here the JSON Schemas.
  for (const [file, validate] of [['k8s/base/merchants.json', validateMerchants], ['k8s/base/callers.json', validateCallers]] as const) {
    test(`${file}: JSON Schema`, () => assert.ok(validate(JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8'))), ajv.errorsText(validate.errors)));
  }
});

describe('the JSON Schema and the loader agree', () => {
  const m = { mch_id: '1900000001', appids: ['wx1234567890abcdef'], api_key: KEY_A };
  const merchantCases: ReadonlyArray<{ name: string; json: unknown; valid: boolean }> = [
    { name: 'an array of one merchant', json: [m], valid: true },
    { name: '{"$schema", "_comment", "merchants"}', json: { $schema: './merchants.schema.json', _comment: 'x', merchants: [{ ...m, _comment: 'y' }] }, valid: true },
    { name: 'every optional field', json: [{ ...m, sign_types: ['HMAC-SHA256'], sub_mch_ids: ['1900000109'], confirm_refunds_with_query: true, previous_api_key_file: '/k/old', previous_api_key_valid_until: '2026-11-28T00:00:00+08:00' }], valid: true },
    { name: 'api_key_file instead of api_key', json: [{ ...m, api_key: undefined, api_key_file: '/k/a' }], valid: true },
    { name: 'an unknown key (mch_ids)', json: [{ ...m, mch_ids: ['1900000001'] }], valid: false },
    { name: 'an unknown key at the top', json: { merchants: [m], version: 1 }, valid: false },
    { name: 'no key', json: [{ ...m, api_key: undefined }], valid: false },
    { name: 'api_key and api_key_file', json: [{ ...m, api_key_file: '/k/a' }], valid: false },
    { name: 'mch_id as a number', json: [{ ...m, mch_id: 1900000001 }], valid: false },
    { name: 'no appids', json: [{ ...m, appids: [] }], valid: false },
    { name: 'sign_types SHA1', json: [{ ...m, sign_types: ['SHA1'] }], valid: false },
    { name: 'confirm_refunds_with_query "true"', json: [{ ...m, confirm_refunds_with_query: 'true' }], valid: false },
    { name: 'a sub-merchant twice', json: [{ ...m, sub_mch_ids: ['1900000109', '1900000109'] }], valid: false },
    { name: 'a deadline without an offset', json: [{ ...m, previous_api_key: 'Old0efghijklmnopqrstuvwxyz012345', previous_api_key_valid_until: '2026-11-28T00:00:00' }], valid: false },
    { name: 'a public key with pem and pem_file', json: [{ ...m, apiv3_key: KEY_A, wechatpay_public_keys: [{ id: 'PUB_KEY_ID_01', pem: 'x', pem_file: '/k/p' }] }], valid: false },
    { name: 'a public key id that is not PUB_KEY_ID_', json: [{ ...m, apiv3_key: KEY_A, wechatpay_public_keys: [{ id: 'KEY1', pem_file: '/k/p' }] }], valid: false },
  ];
  for (const c of merchantCases) {
    test(`merchants: ${c.name}`, () => {
      assert.equal(validateMerchants(c.json), c.valid, `JSON Schema: ${ajv.errorsText(validateMerchants.errors)}`);
      const loaded = loads(() => readMerchantsConfig({ MERCHANTS_JSON: JSON.stringify(c.json) }, anyKeyFile, NOW));
      assert.equal(loaded.ok, c.valid, `loader: ${JSON.stringify(loaded)}`);
    });
  }

  const k = { name: 'order-service', token: TOKEN, scopes: ['orders'] };
  const callerCases: ReadonlyArray<{ name: string; json: unknown; valid: boolean }> = [
    { name: 'a caller', json: [k], valid: true },
    { name: 'with mch_ids', json: { $schema: './callers.schema.json', callers: [{ ...k, mch_ids: ['1900000001'] }] }, valid: true },
    { name: 'mch_id instead of mch_ids', json: [{ ...k, mch_id: '1900000001' }], valid: false },
    { name: 'empty mch_ids', json: [{ ...k, mch_ids: [] }], valid: false },
    { name: 'an unknown scope', json: [{ ...k, scopes: ['everything'] }], valid: false },
    { name: 'token and token_file', json: [{ ...k, token_file: '/run/t' }], valid: false },
  ];
  for (const c of callerCases) {
    test(`callers: ${c.name}`, () => {
      assert.equal(validateCallers(c.json), c.valid, `JSON Schema: ${ajv.errorsText(validateCallers.errors)}`);
      const env = { MERCHANTS_JSON: JSON.stringify([m]), CALLERS_JSON: JSON.stringify(c.json) };
      const loaded = loads(() => readCoreConfig(env, anyKeyFile, NOW));
      assert.equal(loaded.ok, c.valid, `loader: ${JSON.stringify(loaded)}`);
    });
  }
});
