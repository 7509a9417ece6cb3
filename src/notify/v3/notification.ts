import type { V3EncryptedResource } from './decrypt-resource';
import { objectField, optionalStringField, readJson, stringField, timeField, type V3Parse } from './json-fields';

/** The outer JSON of an APIv3 notification: what happened, and the encrypted details. */
export interface V3Notification {
  /** WeChat's id for this notification; redeliveries carry the same one. */
  readonly id: string;
  readonly createTime: Date;
  /** e.g. TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED. */
  readonly eventType: string;
  /** Always 'encrypt-resource' in documented notifications. */
  readonly resourceType: 'encrypt-resource';
  /** A human-readable note such as '支付成功'; never act on it. */
  readonly summary: string;
  readonly resource: V3EncryptedResource;
}

const ID = { pattern: /^[\x21-\x7e]{1,64}$/, describe: '1 to 64 printable ASCII characters' };
const EVENT_TYPE = { pattern: /^[A-Z0-9_.]{1,64}$/, describe: 'an event type such as TRANSACTION.SUCCESS' };
const RESOURCE_TYPE = { pattern: /^encrypt-resource$/, describe: 'encrypt-resource' };
const ALGORITHM = { pattern: /^[A-Za-z0-9_-]{1,32}$/, describe: 'an algorithm name such as AEAD_AES_256_GCM' };
const NONEMPTY = { pattern: /^.+$/s, describe: 'non-empty' };

/**
 * Reads the body of an APIv3 notification. Call it on the raw body only after verifyV3Signature
 * accepted that same body. The algorithm is checked by decryptV3Resource, which knows which it
 * supports.
 *
 * parseV3Notification('{"id":"EV-2018022511223320873","create_time":"2015-05-20T13:29:35+08:00",
 *   "resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","summary":"支付成功",
 *   "resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"...","nonce":"fdasflkja484w",
 *   "associated_data":"transaction","original_type":"transaction"}}')
 *   => { ok: true, value: { id: 'EV-2018022511223320873', createTime: 2015-05-20T05:29:35.000Z,
 *        eventType: 'TRANSACTION.SUCCESS', resourceType: 'encrypt-resource', summary: '支付成功',
 *        resource: { algorithm: 'AEAD_AES_256_GCM', ... } } }
 */
export function parseV3Notification(bodyJson: string | Buffer): V3Parse<V3Notification> {
  return readJson(bodyJson, 'the notification body', (root) => {
    const id = stringField(root, 'id', ID);
    const createTime = timeField(root, 'create_time');
    const eventType = stringField(root, 'event_type', EVENT_TYPE);
    stringField(root, 'resource_type', RESOURCE_TYPE);
    const summary = stringField(root, 'summary');
    const r = objectField(root, 'resource');
    const associatedData = optionalStringField(r, 'associated_data', undefined, 'resource.');
    const originalType = optionalStringField(r, 'original_type', undefined, 'resource.');
    const resource: V3EncryptedResource = {
      algorithm: stringField(r, 'algorithm', ALGORITHM, 'resource.'),
      ciphertext: stringField(r, 'ciphertext', NONEMPTY, 'resource.'),
      nonce: stringField(r, 'nonce', NONEMPTY, 'resource.'),
      ...(associatedData !== undefined ? { associated_data: associatedData } : {}),
      ...(originalType !== undefined ? { original_type: originalType } : {}),
    };
    return { id, createTime, eventType, resourceType: 'encrypt-resource' as const, summary, resource };
  });
}
