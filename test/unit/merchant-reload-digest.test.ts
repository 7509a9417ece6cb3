// What a merchants reload counts as a change (src/service/merchant-registry.ts digestsOf):
// everything that decides a notification. A platform certificate renewed with the same serial
// and key but new validity dates is a change: the dates decide whether it verifies.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { Merchant } from '../../src/notify/merchant';
import type { V3VerificationKey } from '../../src/notify/v3/platform-keys';
import { MerchantRegistry } from '../../src/service/merchant-registry';

const RSA = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
const OTHER_RSA = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
const SERIAL = 'D7CE59D1F522D701';
const FROM = new Date('2026-01-01T00:00:00Z');
const TO = new Date('2031-01-01T00:00:00Z');

const certificate = (over: Partial<V3VerificationKey> = {}): V3VerificationKey => ({
  id: SERIAL,
  kind: 'certificate',
  key: RSA,
  notBefore: FROM,
  notAfter: TO,
  ...over,
});
const merchantWith = (key: V3VerificationKey): Merchant => ({
  mchId: '1900000001',
  appids: ['wx1234567890abcdef'],
  apiKey: 'Abcdefghijklmnopqrstuvwxyz012345',
  signTypes: ['MD5'],
  apiV3Key: 'ApiV3Key0123456789abcdefghijklmn',
  v3Keys: { byId: new Map([[key.id, key]]) },
});
const silent = pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() }));

describe('a reload sees a renewed certificate', () => {
  const changed = { status: 'reloaded', added: [], removed: [], changed: ['1900000001'] };
  const cases: ReadonlyArray<{ name: string; next: V3VerificationKey; expected: unknown }> = [
    {
      name: 'the same certificate (a fresh object): unchanged',
      next: certificate(),
      expected: { status: 'unchanged' },
    },
    {
      name: 'a later notAfter, same serial and key: changed',
      next: certificate({ notAfter: new Date('2032-01-01T00:00:00Z') }),
      expected: changed,
    },
    {
      name: 'an earlier notAfter, same serial and key: changed',
      next: certificate({ notAfter: new Date('2026-06-01T00:00:00Z') }),
      expected: changed,
    },
    {
      name: 'a later notBefore, same serial and key: changed',
      next: certificate({ notBefore: new Date('2026-02-01T00:00:00Z') }),
      expected: changed,
    },
    { name: 'another key under the same serial: changed', next: certificate({ key: OTHER_RSA }), expected: changed },
    {
      name: 'a public key in place of the certificate, same key: changed',
      next: { id: SERIAL, kind: 'public-key', key: RSA },
      expected: changed,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const registry = new MerchantRegistry([merchantWith(certificate())]);
      const next = merchantWith(c.next);
      assert.deepEqual(
        registry.reload(() => [next], silent, 'SIGHUP'),
        c.expected,
      );
      // A change swaps the merchant in: lookups then see the new dates.
      const inForce = registry.get('1900000001')?.v3Keys?.byId.get(SERIAL);
      assert.equal(inForce?.notAfter?.getTime(), (c.expected === changed ? c.next : certificate()).notAfter?.getTime());
    });
  }
});
