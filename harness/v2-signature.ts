import { createHash, createHmac } from 'node:crypto';

/**
 * The v2 signature as WeChat Pay computes it: the one independent signer that tests, the
 * benchmark and the tools (make notify, the simulator) sign with. Written separately from
 * src/notify/sign.ts on purpose (the duplication is deliberate): it plays the other side, so a
 * mistake in the service's verifier shows up as a rejected notification instead of being copied here.
 */
export type V2SignType = 'MD5' | 'HMAC-SHA256';

export const V2_SIGN_TYPES: readonly V2SignType[] = Object.freeze(['MD5', 'HMAC-SHA256']);

/** Non-empty fields except `sign`, sorted by key (ASCII), `k=v&...&key=<API key>`. */
export function stringToSign(fields: Readonly<Record<string, string>>, apiKey: string): string {
  return Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== '')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${k}=${fields[k] ?? ''}`)
    .concat(`key=${apiKey}`)
    .join('&');
}

/** Upper-case hex MD5, or HMAC-SHA256 keyed with the API key itself. */
export function v2Signature(fields: Readonly<Record<string, string>>, apiKey: string, signType: V2SignType): string {
  const text = stringToSign(fields, apiKey);
  const digest =
    signType === 'MD5'
      ? createHash('md5').update(text, 'utf8').digest('hex')
      : createHmac('sha256', apiKey).update(text, 'utf8').digest('hex');
  return digest.toUpperCase();
}

/**
 * The fields with `sign` (and `sign_type` for HMAC-SHA256, which WeChat includes; MD5 is the
 * default and is sent without one) added.
 */
export function signV2(
  fields: Readonly<Record<string, string>>,
  apiKey: string,
  signType: V2SignType,
): Record<string, string> {
  const out: Record<string, string> = { ...fields };
  delete out['sign'];
  if (signType === 'HMAC-SHA256') out['sign_type'] = 'HMAC-SHA256';
  out['sign'] = v2Signature(out, apiKey, signType);
  return out;
}
