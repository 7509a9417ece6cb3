import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The two v2 signature algorithms, spelled as WeChat spells them in `sign_type`. */
export type SignType = 'MD5' | 'HMAC-SHA256';

export const SIGN_TYPES: readonly SignType[] = Object.freeze(['MD5', 'HMAC-SHA256']);

export function isSignType(value: string): value is SignType {
  return (SIGN_TYPES as readonly string[]).includes(value);
}

/**
 * The string WeChat's v2 rule signs: non-empty fields except `sign`, sorted by key in ASCII
 * order, joined as `k=v&...`, then `&key=<API key>`.
 *
 * signString({ b: '2', a: '1', c: '' }, 'K') => 'a=1&b=2&key=K'
 */
export function signString(fields: Readonly<Record<string, string>>, apiKey: string): string {
  const pairs = Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== '' && fields[k] !== undefined)
    // Code-unit order equals ASCII order for WeChat's field names, which are ASCII.
    .sort()
    .map((k) => `${k}=${fields[k] ?? ''}`);
  pairs.push(`key=${apiKey}`);
  return pairs.join('&');
}

/**
 * Upper-case hex signature of `fields` under `apiKey`.
 *
 * sign({ appid: 'wxd930ea5d5a258f4f', body: 'test', device_info: '1000', mch_id: '10000100',
 *   nonce_str: 'ibuaiVcKdpRxkhJA' }, '192006250b4c09247ec02edce69f6a2d', 'MD5')
 *   => '9A0A8659F005D6984697E2CA0A9CF3B7'
 */
export function sign(fields: Readonly<Record<string, string>>, apiKey: string, signType: SignType): string {
  const text = signString(fields, apiKey);
  const digest =
    signType === 'MD5'
      ? createHash('md5').update(text, 'utf8').digest('hex')
      : createHmac('sha256', apiKey).update(text, 'utf8').digest('hex');
  return digest.toUpperCase();
}

/**
 * Compares two signatures in time that does not depend on where they differ. Hex case is
 * ignored: the digest is the same whichever case a sender printed it in.
 */
export function signaturesEqual(expected: string, received: string): boolean {
  // toUpperCase maps some non-ASCII letters onto hex digits ("ﬀ" -> "FF"): accept hex only.
  if (!/^[0-9A-Fa-f]+$/.test(received)) return false;
  const a = Buffer.from(expected.toUpperCase(), 'utf8');
  const b = Buffer.from(received.toUpperCase(), 'utf8');
  // Lengths are public (32 or 64 hex digits); only the content must not leak through timing.
  return a.length === b.length && timingSafeEqual(a, b);
}
