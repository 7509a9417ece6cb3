// Reloading merchants (src/service/merchant-registry.ts): a reload swaps every merchant at once;
// one with problems keeps the merchants in force and logs every problem; nothing changed is said.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/env-reader';
import type { Merchant } from '../../src/notify/merchant';
import { MerchantRegistry } from '../../src/service/merchant-registry';

const A: Merchant = {
  mchId: '1900000001',
  appids: ['wx1234567890abcdef'],
  apiKey: 'Abcdefghijklmnopqrstuvwxyz012345',
  signTypes: ['MD5'],
};
const B: Merchant = {
  mchId: '1900000002',
  appids: ['wx2234567890abcdef'],
  apiKey: 'Z9x8c7v6b5n4m3a2s1d0f9g8h7j6k5l4',
  signTypes: ['MD5'],
};

function capture(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    log: pino({ level: 'info' }, stream),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('MerchantRegistry.reload', () => {
  test('a good reload replaces the whole set and names what changed', () => {
    const registry = new MerchantRegistry([A]);
    const { log, lines } = capture();
    const r = registry.reload(() => [{ ...A, appids: ['wx9999999999999999'] }, B], log, 'SIGHUP');
    assert.deepEqual(r, { status: 'reloaded', added: ['1900000002'], removed: [], changed: ['1900000001'] });
    assert.deepEqual(registry.get('1900000001')?.appids, ['wx9999999999999999']);
    assert.equal(registry.get('1900000002')?.mchId, '1900000002');
    assert.equal(lines().at(-1)?.['msg'], 'merchants reloaded');
  });
  test('a removed merchant is gone after the reload', () => {
    const registry = new MerchantRegistry([A, B]);
    const r = registry.reload(() => [B], capture().log, 'SIGHUP');
    assert.deepEqual(r, { status: 'reloaded', added: [], removed: ['1900000001'], changed: [] });
    assert.equal(registry.get('1900000001'), undefined);
  });
  test('a reload with problems keeps the merchants in force and logs every problem, never a key', () => {
    const registry = new MerchantRegistry([A]);
    const { log, lines } = capture();
    const r = registry.reload(
      () => {
        throw new ConfigError([
          'entry #1: the API key must be 32 letters or digits (it has 5 characters)',
          'entry #2: mch_id must be a string of digits',
        ]);
      },
      log,
      'SIGHUP',
    );
    assert.equal(r.status, 'failed');
    assert.equal(registry.get('1900000001'), A);
    const logged = lines();
    assert.deepEqual(
      logged.filter((l) => l['problem'] !== undefined).map((l) => l['problem']),
      [
        'entry #1: the API key must be 32 letters or digits (it has 5 characters)',
        'entry #2: mch_id must be a string of digits',
      ],
    );
    assert.match(String(logged.at(-1)?.['msg']), /keeping the merchants in force/);
    assert.ok(!JSON.stringify(logged).includes(A.apiKey));
  });
  test('the same merchants again: unchanged, nothing swapped', () => {
    const registry = new MerchantRegistry([A]);
    assert.deepEqual(
      registry.reload(() => [{ ...A }], capture().log, 'MERCHANTS_RELOAD_INTERVAL_MS'),
      { status: 'unchanged' },
    );
  });
  test('a rotated key counts as a change', () => {
    const registry = new MerchantRegistry([A]);
    const r = registry.reload(() => [{ ...A, apiKey: 'New0efghijklmnopqrstuvwxyz012345' }], capture().log, 'SIGHUP');
    assert.deepEqual(r, { status: 'reloaded', added: [], removed: [], changed: ['1900000001'] });
    assert.equal(registry.get('1900000001')?.apiKey, 'New0efghijklmnopqrstuvwxyz012345');
  });
});
