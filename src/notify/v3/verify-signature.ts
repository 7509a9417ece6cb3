import { verify } from 'node:crypto';
import { findV3Key, type V3PlatformKeys, type V3VerificationKey } from './platform-keys';

/** The four headers that authenticate an APIv3 notification, spelled as WeChat sends them. */
type V3HeaderName = 'Wechatpay-Timestamp' | 'Wechatpay-Nonce' | 'Wechatpay-Signature' | 'Wechatpay-Serial';

/** A received notification as the HTTP layer hands it over; absent headers are undefined. */
export interface V3SignedMessage {
  /** Wechatpay-Timestamp: Unix seconds. */
  readonly timestamp: string | undefined;
  /** Wechatpay-Nonce. */
  readonly nonce: string | undefined;
  /** The raw body bytes, exactly as received: re-serialised JSON does not verify. */
  readonly body: Buffer;
  /** Wechatpay-Signature: base64. */
  readonly signature: string | undefined;
  /** Wechatpay-Serial: a platform certificate serial or a WeChat Pay public key id. */
  readonly serial: string | undefined;
}

export interface V3VerifyOptions {
  /** How far Wechatpay-Timestamp may be from `now`, either way, inclusive. Default 300 (5 minutes). */
  readonly windowSeconds?: number;
}

export type V3VerifyError =
  | { readonly code: 'MISSING_HEADER'; readonly message: string; readonly headers: readonly V3HeaderName[] }
  | { readonly code: 'INVALID_HEADER'; readonly message: string; readonly header: V3HeaderName }
  /** skewSeconds: timestamp minus now; positive means in the future. */
  | { readonly code: 'TIMESTAMP_OUT_OF_WINDOW'; readonly message: string; readonly skewSeconds: number }
  | { readonly code: 'SIGNATURE_PROBE'; readonly message: string }
  | { readonly code: 'UNKNOWN_SERIAL'; readonly message: string; readonly serial: string }
  | { readonly code: 'CERTIFICATE_NOT_VALID'; readonly message: string; readonly serial: string }
  | { readonly code: 'INVALID_SIGNATURE'; readonly message: string };

export type V3VerifyErrorCode = V3VerifyError['code'];

export type V3Verification =
  { readonly ok: true; readonly key: V3VerificationKey } | { readonly ok: false; readonly error: V3VerifyError };

const DEFAULT_WINDOW_SECONDS = 300;
/**
 * WeChat Pay sends probe traffic whose signature starts with this: merchants must reject it, and
 * it is reported apart so that monitoring does not count it as an attack.
 */
const SIGNATURE_PROBE_PREFIX = 'WECHATPAY/SIGNTEST/';
const TIMESTAMP = /^(0|[1-9][0-9]{0,11})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The string WeChat signs: timestamp, nonce and the raw body, each followed by a newline.
 *
 * v3SignedBytes('1624523846', 'EcZ9Cmy4', Buffer.from('{}')).toString() => '1624523846\nEcZ9Cmy4\n{}\n'
 */
export function v3SignedBytes(timestamp: string, nonce: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), body, Buffer.from('\n', 'utf8')]);
}

/**
 * Proves an APIv3 notification came from WeChat Pay: all four headers present, the timestamp
 * within the window of `now` (both ways), not a signature probe, a configured key for the serial,
 * and an RSA PKCS#1 v1.5 SHA-256 signature over v3SignedBytes. Pure: the clock is `now`.
 *
 * verifyV3Signature({ timestamp: '1624523846', nonce: 'EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz',
 *   body: Buffer.from('{"id":"3119dfba-...'), signature: 'tJHIiIS9...', serial: 'D7CE59D1F522D701' },
 *   keys, new Date(1624523846 * 1000))
 *   => { ok: true, key: { id: 'D7CE59D1F522D701', kind: 'certificate', ... } }
 */
export function verifyV3Signature(
  message: V3SignedMessage,
  keys: V3PlatformKeys,
  now: Date,
  options: V3VerifyOptions = {},
): V3Verification {
  const windowSeconds = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  if (!Number.isFinite(now.getTime())) throw new RangeError('verifyV3Signature: now is an invalid Date');
  if (!(windowSeconds >= 0)) throw new RangeError('verifyV3Signature: windowSeconds must be zero or more');

  const present: Record<V3HeaderName, string | undefined> = {
    'Wechatpay-Timestamp': message.timestamp,
    'Wechatpay-Nonce': message.nonce,
    'Wechatpay-Signature': message.signature,
    'Wechatpay-Serial': message.serial,
  };
  const missing = (Object.keys(present) as V3HeaderName[]).filter((h) => (present[h] ?? '').trim() === '');
  if (missing.length > 0) {
    return fail({
      code: 'MISSING_HEADER',
      headers: missing,
      message: `missing header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: not an APIv3 notification, or a proxy dropped them`,
    });
  }
  const timestamp = message.timestamp ?? '';
  const nonce = message.nonce ?? '';
  const signature = message.signature ?? '';
  const serial = message.serial ?? '';

  // Before anything else about the signature: a probe must never reach a key.
  if (signature.startsWith(SIGNATURE_PROBE_PREFIX)) {
    return fail({
      code: 'SIGNATURE_PROBE',
      message: 'a WeChat Pay signature probe (WECHATPAY/SIGNTEST/); rejecting it is the expected answer',
    });
  }
  if (!TIMESTAMP.test(timestamp)) {
    return fail({
      code: 'INVALID_HEADER',
      header: 'Wechatpay-Timestamp',
      message: 'Wechatpay-Timestamp must be Unix seconds (digits only)',
    });
  }
  const skewSeconds = (Number(timestamp) * 1000 - now.getTime()) / 1000;
  if (Math.abs(skewSeconds) > windowSeconds) {
    const direction = skewSeconds < 0 ? 'in the past' : 'in the future';
    return fail({
      code: 'TIMESTAMP_OUT_OF_WINDOW',
      skewSeconds,
      message:
        `Wechatpay-Timestamp is ${Math.abs(skewSeconds)} s ${direction}, more than the ${windowSeconds} s allowed: ` +
        (skewSeconds < 0 ? 'a replayed or long-delayed notification, ' : '') +
        "or this server's clock is wrong (check NTP)",
    });
  }
  const key = findV3Key(keys, serial);
  if (!key) {
    return fail({
      code: 'UNKNOWN_SERIAL',
      serial: serial.slice(0, 64),
      message:
        `no platform certificate or WeChat Pay public key is configured for Wechatpay-Serial ${serial.slice(0, 64)}; ` +
        'WeChat may have rotated its keys: download the current platform certificates or configure the public key',
    });
  }
  if (
    (key.notBefore && now.getTime() < key.notBefore.getTime()) ||
    (key.notAfter && now.getTime() > key.notAfter.getTime())
  ) {
    return fail({
      code: 'CERTIFICATE_NOT_VALID',
      serial: key.id,
      message:
        `platform certificate ${key.id} is valid only from ${key.notBefore?.toISOString() ?? '?'} to ${key.notAfter?.toISOString() ?? '?'}; ` +
        'download the current platform certificates',
    });
  }
  if (!BASE64.test(signature)) {
    return fail({ code: 'INVALID_SIGNATURE', message: 'Wechatpay-Signature is not base64' });
  }
  let valid: boolean;
  try {
    valid = verify('sha256', v3SignedBytes(timestamp, nonce, message.body), key.key, Buffer.from(signature, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid) {
    return fail({
      code: 'INVALID_SIGNATURE',
      message:
        `the signature does not verify with ${key.kind === 'certificate' ? 'platform certificate' : 'public key'} ${key.id}: ` +
        'pass the raw body bytes and the headers exactly as received',
    });
  }
  return { ok: true, key };
}

function fail(error: V3VerifyError): V3Verification {
  return { ok: false, error: Object.freeze(error) };
}
