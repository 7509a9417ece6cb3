import { createDecipheriv, type CipherGCMTypes } from 'node:crypto';

/**
 * The `resource` of an APIv3 notification, named as in the body so a parsed body can be passed
 * as it is.
 */
export interface V3EncryptedResource {
  readonly algorithm: string;
  /** Base64 of the ciphertext followed by the 16-byte GCM tag. */
  readonly ciphertext: string;
  /** 12 characters, used as they are (not base64). */
  readonly nonce: string;
  /** The GCM additional data, e.g. 'transaction'; WeChat may send it empty or leave it out. */
  readonly associated_data?: string;
  readonly original_type?: string;
}

export type V3DecryptErrorCode =
  | 'UNSUPPORTED_ALGORITHM'
  /** The configured APIv3 key has a length no AES variant takes: a configuration problem. */
  | 'INVALID_API_V3_KEY'
  /** Not base64, truncated, tampered with, or encrypted under another key. */
  | 'RESOURCE_UNDECRYPTABLE';

/** { code: 'RESOURCE_UNDECRYPTABLE', message: 'the resource does not decrypt: ...' } */
interface V3DecryptError {
  readonly code: V3DecryptErrorCode;
  readonly message: string;
}

export type V3Decryption =
  { readonly ok: true; readonly plaintext: string } | { readonly ok: false; readonly error: V3DecryptError };

const V3_RESOURCE_ALGORITHM = 'AEAD_AES_256_GCM';
const TAG_BYTES = 16;
const NONCE_BYTES = 12;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Real APIv3 keys are 32 bytes (AES-256). 16 and 24 are accepted only because the public test
 * vector (wechatpay-go's notify test, key 'testMchAPIv3Key0') uses a 16-byte key, and WeChat's
 * SDKs let the key length choose the AES variant; a configuration check should insist on 32.
 */
const CIPHER_BY_KEY_BYTES: Readonly<Record<number, CipherGCMTypes>> = {
  16: 'aes-128-gcm',
  24: 'aes-192-gcm',
  32: 'aes-256-gcm',
};

/**
 * Decrypts an APIv3 resource: AEAD_AES_256_GCM with the merchant's APIv3 key, the 12-byte nonce,
 * associated_data as the AAD, and the last 16 bytes of the ciphertext as the tag. The tag is the
 * proof the content is WeChat's: any change to ciphertext, nonce, AAD or key is refused.
 *
 * decryptV3Resource({ algorithm: 'AEAD_AES_256_GCM', ciphertext: 'YDS3lKPa...', nonce: 'Kj7QIyUiYx1q',
 *   associated_data: 'payscore' }, 'testMchAPIv3Key0')
 *   => { ok: true, plaintext: '{"mchid":"1234567890","appid":"054aa7d7a2a54ab5898df65bd96f001c",...}' }
 */
export function decryptV3Resource(resource: V3EncryptedResource, apiV3Key: string | Buffer): V3Decryption {
  if (resource.algorithm !== V3_RESOURCE_ALGORITHM) {
    return fail(
      'UNSUPPORTED_ALGORITHM',
      `resource algorithm ${resource.algorithm.slice(0, 32)} is not supported; only ${V3_RESOURCE_ALGORITHM} is`,
    );
  }
  const key = typeof apiV3Key === 'string' ? Buffer.from(apiV3Key, 'utf8') : apiV3Key;
  const cipher = CIPHER_BY_KEY_BYTES[key.length];
  if (cipher === undefined) {
    return fail(
      'INVALID_API_V3_KEY',
      `the APIv3 key is ${key.length} bytes; configure the merchant's 32-character APIv3 key (not the v2 API key)`,
    );
  }
  const nonce = Buffer.from(resource.nonce, 'utf8');
  if (nonce.length !== NONCE_BYTES) {
    return fail('RESOURCE_UNDECRYPTABLE', `resource.nonce is ${nonce.length} bytes; AEAD_AES_256_GCM uses 12`);
  }
  if (!BASE64.test(resource.ciphertext)) {
    return fail(
      'RESOURCE_UNDECRYPTABLE',
      'resource.ciphertext is not base64 (standard alphabet, padded, no whitespace)',
    );
  }
  const sealed = Buffer.from(resource.ciphertext, 'base64');
  if (sealed.length < TAG_BYTES) {
    return fail(
      'RESOURCE_UNDECRYPTABLE',
      `resource.ciphertext is ${sealed.length} bytes, shorter than the 16-byte tag: it was truncated`,
    );
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv(cipher, key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
    plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return fail(
      'RESOURCE_UNDECRYPTABLE',
      "the resource does not decrypt (the GCM tag does not match): check the merchant's APIv3 key, " +
        'and that ciphertext, nonce and associated_data were passed exactly as received',
    );
  }
  try {
    return { ok: true, plaintext: new TextDecoder('utf-8', { fatal: true }).decode(plain) };
  } catch {
    // Authentic content is always UTF-8 JSON; this can only be a sender bug.
    return fail('RESOURCE_UNDECRYPTABLE', 'the resource decrypted, but the plaintext is not UTF-8');
  }
}

function fail(code: V3DecryptErrorCode, message: string): V3Decryption {
  return { ok: false, error: Object.freeze({ code, message }) };
}
