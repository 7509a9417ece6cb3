// The decrypted req_info of a v2 refund notification must be exactly WeChat's document
// (src/notify/v2-refund/req-info-document.ts, read-refund-notification.ts): one <root> of the
// documented fields, each at most once, values of WeChat's shapes. req_info is AES-256-ECB with no
// MAC, so re-cut ciphertext blocks still decrypt; whatever is not WeChat's document is REJECTED
// with REFUND_UNDECRYPTABLE and one fixed message that quotes nothing decrypted.
// The public vector first; ciphertext is built by harness/ (encryptReqInfo), not by src/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { merchantDirectory, type Merchant } from '../../src/notify/merchant';
import {
  readRefundNotification,
  type RefundNotificationRead,
} from '../../src/notify/v2-refund/read-refund-notification';
import {
  NOT_A_REFUND_NOTIFICATION,
  readReqInfoDocument,
  REQ_INFO_FIELDS,
} from '../../src/notify/v2-refund/req-info-document';
import { encryptReqInfo, refundInnerFields, rootXml } from '../../harness/refund-notification';

const vector = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/vectors/v2-refund-req-info.json'), 'utf8'),
) as { readonly api_key: string; readonly req_info: string; readonly plaintext: string };

const NOW = new Date('2026-11-28T02:00:00Z');
const MERCHANT: Merchant = {
  mchId: '10000100',
  appids: ['wx2421b1c4370ec43b'],
  apiKey: vector.api_key,
  signTypes: ['MD5'],
};
const merchants = merchantDirectory([MERCHANT]);

/** The public vector's fields, as WeChat documents them (and as its plaintext holds them). */
const VECTOR_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  out_refund_no: '50fd012ed1b311e7af7800163e32c503',
  out_trade_no: '4893e76d8c8b434cb64e9cd536338e33',
  refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
  refund_fee: '6',
  refund_id: '50000404922017112502468056157',
  refund_recv_accout: '支付用户零钱',
  refund_request_source: 'API',
  refund_status: 'SUCCESS',
  settlement_refund_fee: '6',
  settlement_total_fee: '6',
  success_time: '2017-11-25 15:36:17',
  total_fee: '6',
  transaction_id: '4200000015201711256947025404',
});

/** Values distinctive enough that finding one in a message can only mean it was echoed. */
const DISTINCTIVE = Object.values(VECTOR_FIELDS).filter((v) => v.length >= 8 && v !== 'REFUND_SOURCE_RECHARGE_FUNDS');
/** Marker values for hand-made documents: none of them may come back in a message. */
const MARKER = 'Mk7SecretPlaintext0123';

/** The messages a REFUND_UNDECRYPTABLE may carry: constants, so they cannot hold decrypted text. */
const CONSTANT_MESSAGES: readonly string[] = [
  NOT_A_REFUND_NOTIFICATION,
  ...['its padding is invalid', 'the result is not UTF-8', 'the result is not a <root> XML document'].map(
    (what) =>
      `req_info does not decrypt (${what}); check that the merchant's v2 API key is configured ` +
      '(not the APIv3 key) and that req_info was passed exactly as received',
  ),
];

function read(reqInfo: string): RefundNotificationRead {
  return readRefundNotification(
    {
      return_code: 'SUCCESS',
      appid: 'wx2421b1c4370ec43b',
      mch_id: '10000100',
      nonce_str: 'TeqClE3i0mvn3DrK',
      req_info: reqInfo,
    },
    merchants,
    NOW,
  );
}

/** A refusal that says nothing decrypted: REJECTED, REFUND_UNDECRYPTABLE, a constant message. */
function assertRefusedQuietly(r: RefundNotificationRead, secrets: readonly string[], name: string): void {
  assert.ok(!r.ok, `${name}: must be refused`);
  if (r.ok) return;
  assert.deepEqual(
    [r.result.outcome, r.result.code],
    ['REJECTED', 'REFUND_UNDECRYPTABLE'],
    `${name}: ${r.result.message}`,
  );
  assert.ok(CONSTANT_MESSAGES.includes(r.result.message), `${name}: not a constant message: ${r.result.message}`);
  for (const secret of secrets) {
    assert.ok(!r.result.message.includes(secret), `${name}: the message quotes ${secret}`);
    assert.ok(!(r.detail ?? '').includes(secret), `${name}: the detail quotes ${secret}`);
  }
}

describe('genuine documents are read', () => {
  const genuine = refundInnerFields({ outTradeNo: 'T1001', outRefundNo: 'RF1001', refundFee: 30 });
  const change = refundInnerFields({ outTradeNo: 'T1002', outRefundNo: 'RF1002', refundFee: 30, status: 'CHANGE' });
  const cases: ReadonlyArray<{ name: string; xml: string; fields: Readonly<Record<string, string>> }> = [
    { name: 'the public vector (one CDATA element per line)', xml: vector.plaintext, fields: VECTOR_FIELDS },
    { name: "the repo's fixture: a SUCCESS", xml: rootXml(genuine), fields: genuine },
    { name: "the repo's fixture: a CHANGE, without success_time", xml: rootXml(change), fields: change },
    {
      name: 'on one line, without layout whitespace',
      xml: `<root>${Object.entries(genuine)
        .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
        .join('')}</root>`,
      fields: genuine,
    },
    {
      name: 'CRLF layout, plain-text values, XML entities decoded',
      xml: `<root>\r\n${Object.entries({ ...genuine, refund_recv_accout: 'A&amp;B &#x94F6;行' })
        .map(([k, v]) => `<${k}>${v}</${k}>`)
        .join('\r\n')}\r\n</root>\r\n`,
      fields: { ...genuine, refund_recv_accout: 'A&B 银行' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const doc = readReqInfoDocument(c.xml);
      assert.deepEqual(doc, { ok: true, fields: c.fields });
      const r = read(encryptReqInfo(c.xml, vector.api_key));
      assert.ok(r.ok, r.ok ? '' : `${r.result.message} (${r.detail ?? ''})`);
      assert.equal(r.change.outRefundNo, c.fields['out_refund_no']);
    });
  }
  test('the public vector as received (req_info itself) reads', () => assert.ok(read(vector.req_info).ok));
  test('the documented fields are the 13 of the public vector', () =>
    assert.deepEqual([...REQ_INFO_FIELDS], Object.keys(VECTOR_FIELDS)));
});

describe('anything else is REFUND_UNDECRYPTABLE with one fixed message, quoting nothing', () => {
  const fields = refundInnerFields(
    { outTradeNo: 'T2001', outRefundNo: 'RF2001', refundFee: 30 },
    { refund_recv_accout: MARKER },
  );
  const secrets = [MARKER, 'T2001', 'RF2001'];
  const lines = Object.entries(fields).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`);
  const doc = (...extra: string[]): string => `<root>\n${[...lines, ...extra].join('\n')}\n</root>`;
  const cases: ReadonlyArray<{ name: string; xml: string }> = [
    { name: 'an unknown element', xml: doc(`<cash_refund_fee><![CDATA[${MARKER}]]></cash_refund_fee>`) },
    { name: 'an unknown element that XML would take as a field name', xml: doc(`<Refund_Fee>${MARKER}</Refund_Fee>`) },
    { name: 'a repeated element (the second refund_fee)', xml: doc('<refund_fee><![CDATA[99]]></refund_fee>') },
    {
      name: 'a nested element',
      xml: doc(`<out_trade_no><a>${MARKER}</a></out_trade_no>`).replace(
        '<out_trade_no><![CDATA[T2001]]></out_trade_no>\n',
        '',
      ),
    },
    { name: 'an attribute', xml: doc().replace('<out_trade_no>', `<out_trade_no a="${MARKER}">`) },
    {
      name: 'a self-closing element',
      xml: doc('<settlement_total_fee/>').replace(
        /<settlement_total_fee><!\[CDATA\[\d+\]\]><\/settlement_total_fee>\n/,
        '',
      ),
    },
    { name: 'text between elements', xml: doc(MARKER) },
    { name: 'a comment', xml: doc(`<!-- ${MARKER} -->`) },
    { name: 'a processing instruction', xml: doc(`<?pi ${MARKER}?>`) },
    { name: 'an XML declaration inside the document', xml: `<root><?xml version="1.0"?>${lines.join('')}</root>` },
    { name: 'a DOCTYPE', xml: `<root><!DOCTYPE root [<!ENTITY x "${MARKER}">]>${lines.join('')}</root>` },
    { name: 'trailing garbage after </root>, closed by a second root', xml: `${doc()}${MARKER}<root></root>` },
    { name: 'a second <root> inside', xml: doc(`<root>${MARKER}</root>`) },
    {
      name: 'a CDATA section followed by text',
      xml: doc().replace('<out_trade_no><![CDATA[T2001]]>', `<out_trade_no><![CDATA[T2001]]>${MARKER}`),
    },
    {
      name: 'an unclosed CDATA section',
      xml: doc().replace(
        '<out_trade_no><![CDATA[T2001]]></out_trade_no>',
        `<out_trade_no><![CDATA[T2001 ${MARKER}</out_trade_no>`,
      ),
    },
    { name: 'a mismatched closing tag', xml: doc().replace('</out_trade_no>', '</out_refund_no>') },
    { name: 'an undefined entity', xml: doc().replace(`<![CDATA[${MARKER}]]>`, `${MARKER}&secret;`) },
    { name: 'a control character', xml: doc().replace(MARKER, `${MARKER}\u0001`) },
    { name: 'not XML at all', xml: `<root>${MARKER} T2001 RF2001</root>` },
    { name: 'an empty <root>', xml: '<root></root>' },
    // Values WeChat never writes: the same answer, so a re-cutter cannot tell shape from value.
    { name: 'a required field missing (refund_fee)', xml: rootXml({ ...fields, refund_fee: '' }) },
    { name: 'a non-canonical refund_fee "030"', xml: rootXml({ ...fields, refund_fee: '030' }) },
    {
      name: 'refund_fee above total_fee',
      xml: rootXml({ ...fields, refund_fee: '101', total_fee: '100', settlement_total_fee: '100' }),
    },
    {
      name: 'an out_trade_no with characters WeChat never uses',
      xml: rootXml({ ...fields, out_trade_no: `${MARKER}<>!` }),
    },
    {
      name: 'refund_status PROCESSING (refundquery only, never notified)',
      xml: rootXml({ ...fields, refund_status: 'PROCESSING' }),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assertRefusedQuietly(read(encryptReqInfo(c.xml, vector.api_key)), secrets, c.name);
    });
  }
  test('readReqInfoDocument refuses with the fixed message and a detail that quotes nothing', () => {
    for (const c of cases.slice(0, 19)) {
      const r = readReqInfoDocument(c.xml);
      assert.ok(!r.ok, c.name);
      if (r.ok) continue;
      assert.deepEqual(r.error, { code: 'REFUND_UNDECRYPTABLE', message: NOT_A_REFUND_NOTIFICATION }, c.name);
      for (const s of secrets) assert.ok(!r.detail.includes(s), `${c.name}: ${r.detail}`);
    }
  });
});

describe('ECB re-cuts of the public vector: refused quietly, except value-for-value swaps', () => {
  const ciphertext = Buffer.from(vector.req_info, 'base64');
  const blocks: Buffer[] = [];
  for (let i = 0; i < ciphertext.length; i += 16) blocks.push(ciphertext.subarray(i, i + 16));
  const n = blocks.length;
  const join = (bs: readonly Buffer[]): string => Buffer.concat(bs).toString('base64');
  const recuts: Array<{ name: string; reqInfo: string }> = [];
  for (let i = 0; i < n; i += 1) {
    for (let j = i + 1; j < n; j += 1) {
      const b = [...blocks];
      [b[i], b[j]] = [blocks[j] as Buffer, blocks[i] as Buffer];
      recuts.push({ name: `swap ${i} ${j}`, reqInfo: join(b) });
    }
    recuts.push({ name: `drop ${i}`, reqInfo: join(blocks.filter((_, k) => k !== i)) });
    recuts.push({ name: `dup ${i}`, reqInfo: join(blocks.flatMap((b, k) => (k === i ? [b, b] : [b]))) });
  }
  recuts.push({ name: 'reversed', reqInfo: join([...blocks].reverse()) });
  recuts.push({
    name: 'reversed but the padding block',
    reqInfo: join([...blocks.slice(0, -1).reverse(), blocks[n - 1] as Buffer]),
  });
  for (let k = 1; k < n - 1; k += 1) {
    recuts.push({
      name: `rotated by ${k} but the padding block`,
      reqInfo: join([...blocks.slice(k, -1), ...blocks.slice(0, k), blocks[n - 1] as Buffer]),
    });
  }

  // The rule's limit, kept visible: these re-cuts move only value characters between values of
  // the same alphabet (blocks 2, 7, 12 and 48 lie inside out_refund_no, out_trade_no,
  // refund_account and transaction_id; blocks 3 and 19 both end a value with the same "]"). The
  // document is WeChat's shape with other values: only a signed refundquery can tell
  // (test/unit/refundquery.test.ts).
  const VALUE_FOR_VALUE = [
    'swap 2 7',
    'swap 2 48',
    'swap 3 19',
    'swap 7 48',
    'swap 12 48',
    'drop 2',
    'drop 7',
    'drop 12',
    'drop 48',
    'dup 2',
    'dup 12',
  ];

  test(`every re-cut but the ${VALUE_FOR_VALUE.length} value-for-value ones (of ${recuts.length}) is REFUND_UNDECRYPTABLE, quoting nothing`, () => {
    const read_ = recuts.filter((c) => read(c.reqInfo).ok).map((c) => c.name);
    assert.deepEqual([...read_].sort(), [...VALUE_FOR_VALUE].sort());
    for (const c of recuts) {
      const r = read(c.reqInfo);
      if (!r.ok) assertRefusedQuietly(r, DISTINCTIVE, c.name);
    }
  });

  test('a value-for-value re-cut reads, but with other values than WeChat wrote', () => {
    const genuine = read(vector.req_info);
    for (const name of VALUE_FOR_VALUE) {
      const r = read(recuts.find((c) => c.name === name)?.reqInfo ?? '');
      assert.ok(r.ok && genuine.ok, name);
      if (!r.ok || !genuine.ok) continue;
      assert.notDeepEqual(r.fields, genuine.fields, `${name} changes some decrypted value`);
    }
  });
});
