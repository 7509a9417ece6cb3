import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * One key WeChat Pay may sign APIv3 notifications with, found by the Wechatpay-Serial header:
 * a platform certificate (id = its serial number, upper-case hex) or a WeChat Pay public key
 * (id = 'PUB_KEY_ID_...').
 */
export interface V3VerificationKey {
  readonly id: string;
  readonly kind: 'certificate' | 'public-key';
  readonly key: KeyObject;
  /** Certificates only: outside this window the key is not used. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/** The keys a merchant accepts, by id. Several at once: WeChat rotates keys with an overlap. */
export interface V3PlatformKeys {
  readonly byId: ReadonlyMap<string, V3VerificationKey>;
}

export interface V3PlatformKeysInput {
  /** PEM platform certificates, one per entry, as downloaded from GET /v3/certificates. */
  readonly certificates?: readonly string[];
  /** WeChat Pay public keys (pub_key.pem) with their ids from the merchant platform. */
  readonly publicKeys?: ReadonlyArray<{ readonly id: string; readonly pem: string }>;
}

export interface V3PlatformKeysOptions {
  /**
   * 'reject' (default): an expired certificate is a configuration error. 'skip': leave it out and
   * report it in `skipped`, for a list that still carries the certificate being rotated away.
   */
  readonly expired?: 'reject' | 'skip';
}

export type V3KeysErrorCode =
  | 'NO_KEYS'
  | 'INVALID_CERTIFICATE'
  | 'CERTIFICATE_EXPIRED'
  | 'INVALID_PUBLIC_KEY'
  | 'INVALID_KEY_ID'
  | 'UNSUPPORTED_KEY'
  | 'DUPLICATE_KEY_ID';

/** { code: 'CERTIFICATE_EXPIRED', message: 'platform certificate 5157F09E... expired at ...' } */
interface V3KeysError {
  readonly code: V3KeysErrorCode;
  readonly message: string;
}

export type V3PlatformKeysBuild =
  | {
      readonly ok: true;
      readonly keys: V3PlatformKeys;
      readonly skipped: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
    }
  | { readonly ok: false; readonly error: V3KeysError };

/** WeChat Pay public key ids, e.g. PUB_KEY_ID_0114232134912410000000000000. */
export const PUBLIC_KEY_ID = /^PUB_KEY_ID_[0-9A-Za-z]{1,64}$/;
const MIN_RSA_BITS = 2048;

/**
 * Builds the key set from configuration. Checks each entry once, here, so that verification
 * cannot meet a bad key: one certificate per PEM, RSA of at least 2048 bits, no private keys, no
 * duplicate ids, no certificate already expired at `now` (unless options.expired is 'skip').
 * The certificate chain is not checked: load certificates only from a trusted source.
 *
 * v3PlatformKeys({ certificates: ['-----BEGIN CERTIFICATE-----\nMIIDVzCCAj+gAwIBAgIJANfOWdH1ItcB...'] },
 *   new Date('2021-06-24T08:37:26Z'))
 *   => { ok: true, keys: { byId: Map { 'D7CE59D1F522D701' => { kind: 'certificate', ... } } }, skipped: [] }
 */
export function v3PlatformKeys(
  input: V3PlatformKeysInput,
  now: Date,
  options: V3PlatformKeysOptions = {},
): V3PlatformKeysBuild {
  const byId = new Map<string, V3VerificationKey>();
  const skipped: Array<{ id: string; reason: string }> = [];
  const certificates = input.certificates ?? [];
  const publicKeys = input.publicKeys ?? [];

  for (const [i, pem] of certificates.entries()) {
    const read = readCertificate(pem, `certificates[${i}]`);
    if (!read.ok) return read;
    const key = read.key;
    if (key.notAfter && key.notAfter.getTime() < now.getTime()) {
      const reason = `platform certificate ${key.id} expired at ${key.notAfter.toISOString()}`;
      if (options.expired === 'skip') {
        skipped.push({ id: key.id, reason });
        continue;
      }
      return fail(
        'CERTIFICATE_EXPIRED',
        `${reason}; download the current platform certificates (GET /v3/certificates) or configure WeChat Pay's public key instead`,
      );
    }
    const added = add(byId, key, `certificates[${i}]`);
    if (!added.ok) return added;
  }
  for (const [i, entry] of publicKeys.entries()) {
    const read = readPublicKey(entry.id, entry.pem, `publicKeys[${i}]`);
    if (!read.ok) return read;
    const added = add(byId, read.key, `publicKeys[${i}]`);
    if (!added.ok) return added;
  }
  if (byId.size === 0) {
    return fail(
      'NO_KEYS',
      skipped.length > 0
        ? `every configured platform certificate has expired (${skipped.map((s) => s.id).join(', ')}); configure current ones`
        : 'no platform certificate or WeChat Pay public key is configured; configure at least one',
    );
  }
  return { ok: true, keys: Object.freeze({ byId }), skipped };
}

/**
 * The key a Wechatpay-Serial header names. Certificate serials are compared as numbers written in
 * hex: case and leading zeros are ignored, because OpenSSL prints whole bytes ('0A1B...') while
 * WeChat's SDKs print the number ('A1B...').
 *
 * findV3Key(keys, 'd7ce59d1f522d701') => { id: 'D7CE59D1F522D701', kind: 'certificate', ... }
 */
export function findV3Key(keys: V3PlatformKeys, serial: string): V3VerificationKey | undefined {
  if (PUBLIC_KEY_ID.test(serial)) return keys.byId.get(serial);
  const hex = normalizeSerial(serial);
  return hex === undefined ? undefined : keys.byId.get(hex);
}

/**
 * A certificate serial number as upper-case hex without leading zeros; undefined if not hex.
 *
 * normalizeSerial('00d7ce59d1f522d701') => 'D7CE59D1F522D701'
 */
export function normalizeSerial(serial: string): string | undefined {
  if (!/^[0-9A-Fa-f]{1,128}$/.test(serial)) return undefined;
  return serial.toUpperCase().replace(/^0+(?=.)/, '');
}

type KeyRead =
  { readonly ok: true; readonly key: V3VerificationKey } | { readonly ok: false; readonly error: V3KeysError };

function readCertificate(pem: string, where: string): KeyRead {
  const count = pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (count !== 1) {
    return fail(
      'INVALID_CERTIFICATE',
      `${where} must hold exactly one PEM certificate, found ${count}; give each certificate its own entry`,
    );
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    return fail(
      'INVALID_CERTIFICATE',
      `${where} is not a readable X.509 certificate (${e instanceof Error ? e.message.slice(0, 80) : 'unreadable'})`,
    );
  }
  const id = normalizeSerial(cert.serialNumber);
  const notBefore = opensslDate(cert.validFrom);
  const notAfter = opensslDate(cert.validTo);
  if (id === undefined || !notBefore || !notAfter) {
    return fail('INVALID_CERTIFICATE', `${where}: could not read the serial number or validity period`);
  }
  const problem = rsaProblem(cert.publicKey);
  if (problem) return fail('UNSUPPORTED_KEY', `${where} (certificate ${id}): ${problem}`);
  return {
    ok: true,
    key: Object.freeze({ id, kind: 'certificate' as const, key: cert.publicKey, notBefore, notAfter }),
  };
}

function readPublicKey(id: string, pem: string, where: string): KeyRead {
  if (!PUBLIC_KEY_ID.test(id)) {
    return fail(
      'INVALID_KEY_ID',
      `${where}: the id must look like PUB_KEY_ID_0114232134912410000000000000, as shown on the merchant platform`,
    );
  }
  // createPublicKey would quietly derive the public half of a private key: refuse the mix-up.
  if (/PRIVATE KEY/.test(pem)) {
    return fail(
      'INVALID_PUBLIC_KEY',
      `${where} (${id}) is a private key; configure WeChat Pay's public key (pub_key.pem)`,
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    return fail(
      'INVALID_PUBLIC_KEY',
      `${where} (${id}) is not a readable PEM public key (${e instanceof Error ? e.message.slice(0, 80) : 'unreadable'})`,
    );
  }
  const problem = rsaProblem(key);
  if (problem) return fail('UNSUPPORTED_KEY', `${where} (${id}): ${problem}`);
  return { ok: true, key: Object.freeze({ id, kind: 'public-key' as const, key }) };
}

function rsaProblem(key: KeyObject): string | undefined {
  // APIv3 signatures are SHA256-RSA; SM2 (GM) keys are not supported here.
  if (key.asymmetricKeyType !== 'rsa')
    return `the key is ${key.asymmetricKeyType ?? 'unknown'}, but only RSA keys are supported`;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return `the RSA key is ${bits} bits; at least ${MIN_RSA_BITS} are required`;
  return undefined;
}

function add(byId: Map<string, V3VerificationKey>, key: V3VerificationKey, where: string): KeyRead {
  if (byId.has(key.id)) return fail('DUPLICATE_KEY_ID', `${where}: ${key.id} is configured twice; remove one of them`);
  byId.set(key.id, key);
  return { ok: true, key };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * X509Certificate.validFrom/validTo as printed by OpenSSL ('Apr 27 08:55:23 2021 GMT'); Node 20
 * has no Date accessor for them.
 */
function opensslDate(text: string): Date | undefined {
  const m = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/.exec(text);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1] ?? '');
  if (month < 0) return undefined;
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

function fail(code: V3KeysErrorCode, message: string): { readonly ok: false; readonly error: V3KeysError } {
  return { ok: false, error: Object.freeze({ code, message }) };
}
