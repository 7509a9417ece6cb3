/** The merchant in WeChat Pay's documentation example: good for trying things, never for money. */
export const DEMO_MERCHANT = Object.freeze({
  mchId: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  apiKey: '192006250b4c09247ec02edce69f6a2d',
});

/**
 * Keys published as examples, with where they were published. Anyone can sign (or decrypt) with
 * them, so production refuses each of them in every key slot: api_key, previous_api_key and
 * apiv3_key, whether given inline, through _env or through _file.
 */
const PUBLIC_EXAMPLE_KEYS: ReadonlyMap<string, string> = new Map([
  [DEMO_MERCHANT.apiKey, "the public demo API key from WeChat Pay's v2 documentation (config/demo-merchants.json)"],
  [
    'ziR0QKsTUfMOuochC9RfCdmfHECorQAP',
    'the API key of the public v2 refund test data shared by open-source WeChat Pay SDKs',
  ],
  ['testMchAPIv3Key0', "the APIv3 key of the official Go SDK's public notification test"],
]);

/**
 * What a key is when it is a published example; undefined for any other key.
 *
 * publicExampleKey('192006250b4c09247ec02edce69f6a2d') => 'the public demo API key from WeChat Pay\'s v2 documentation (...)'
 */
export function publicExampleKey(value: string): string | undefined {
  return PUBLIC_EXAMPLE_KEYS.get(value);
}
