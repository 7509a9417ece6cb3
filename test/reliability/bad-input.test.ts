// Bad input, property-based and fuzzed with fast-check: the gateway's XML reader
// (gateway/parse-notify-xml.ts), the signature check (src/notify/authenticate.ts), and the whole
// HTTP endpoint (a gateway process in front of a core process on SQLite). Whatever arrives, the
// answer is a clear FAIL or a 4xx: never a crash, a hang, unbounded memory, an acknowledgement
// or a change in the database. Every input tried is counted, and the counts are printed.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import knex, { type Knex } from 'knex';
import fc from 'fast-check';
import { MAX_FIELDS, parseNotifyXml } from '../../gateway/parse-notify-xml';
import { authenticate } from '../../src/notify/authenticate';
import { merchantDirectory } from '../../src/notify/merchant';
import { parsePaymentNotice } from '../../src/notify/payment-notice';
import { checkReply } from '../../tools/simulator/reply-check';
import { createOrders, grpcOrderRegistrar } from '../../tools/simulator/order-registrar';
import { startCoreProcess, startGatewayProcess, type ServiceProcess } from '../../harness/service-processes';
import {
  DEMO,
  HMAC_ONLY,
  paidFields,
  signNotification,
  TEST_MERCHANTS_JSON,
  toNotifyXml,
} from '../../harness/sign-notification';
import { makeTempDir, removeTempDir } from '../../harness/temp-dir';

/** Inputs tried, by category; printed at the end. */
const tried: Record<string, number> = {};
const count = (category: string, n = 1): void => {
  tried[category] = (tried[category] ?? 0) + n;
};

const directory = merchantDirectory([
  { mchId: DEMO.mchId, appids: [DEMO.appid], apiKey: DEMO.key, signTypes: ['MD5', 'HMAC-SHA256'] },
  { mchId: HMAC_ONLY.mchId, appids: [HMAC_ONLY.appid], apiKey: HMAC_ONLY.key, signTypes: ['HMAC-SHA256'] },
]);
const CANONICAL_FEE = /^(0|[1-9][0-9]{0,14})$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/**
 * A pure call slower than this counts as a hang: 250 ms plus 1 ms per KB (the gateway's limit is
 * 64 KiB, its whole budget 5 s; the bigger bodies here only reach the parser in these tests).
 */
const budgetMs = (bytes: number): number => 250 + bytes / 1000;

const RUNS = Number(process.env['BAD_INPUT_RUNS'] ?? '1');

/** parseNotifyXml, timed and counted; it must return an answer, never throw. */
function parse(category: string, body: Buffer | string): ReturnType<typeof parseNotifyXml> {
  count(category);
  const started = process.hrtime.bigint();
  const result = parseNotifyXml(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(
    ms < budgetMs(Buffer.byteLength(body)),
    `${category}: parseNotifyXml took ${ms.toFixed(0)} ms on ${Buffer.byteLength(body)} bytes`,
  );
  assert.equal(typeof result.ok, 'boolean');
  if (result.ok) {
    const names = Object.keys(result.fields);
    assert.ok(names.length <= MAX_FIELDS, `${names.length} fields accepted`);
    for (const n of names) {
      assert.match(n, FIELD_NAME);
      assert.equal(typeof result.fields[n], 'string');
    }
  } else {
    // A reason is always given (how long it may be is in findings.test.ts).
    assert.ok(result.message.length > 0);
  }
  return result;
}

const validXml = (tradeNo = 'BADIN1', type: 'MD5' | 'HMAC-SHA256' = 'MD5'): string =>
  toNotifyXml(signNotification(paidFields(tradeNo), DEMO.key, type));
const signedWith = (over: Record<string, string>, drop: readonly string[] = []): Record<string, string> => {
  const fields = paidFields('BADIN2', over);
  for (const d of drop) delete fields[d];
  return signNotification(fields, DEMO.key);
};

// ---- arbitraries ------------------------------------------------------------------------------

// Names the reader refuses on purpose are left out: "__..." (fast-xml-parser renames
// Object.prototype names such as toString to __toString) and those prototype names themselves.
const tagName = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/)
  .filter((n) => !n.startsWith('__') && !(n in Object.prototype));
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
const xmlSpecial = fc.constantFrom(
  '<',
  '>',
  '&',
  '&amp;',
  '&lt;',
  '&#0;',
  '&#x110000;',
  '&lol;',
  '&#65;',
  ']]>',
  '<!--',
  '-->',
  '<?',
  '?>',
  '"',
  "'",
  '\u0000',
  '\uFFFE',
  '\uD800',
  '\r\n',
);
const textPiece = fc.oneof(anyText, xmlSpecial, fc.string({ unit: 'grapheme', maxLength: 20 }));
const attribute = fc.tuple(tagName, fc.string({ maxLength: 10 })).map(([k, v]) => ` ${k}="${v.replace(/"/g, '')}"`);

/** XML-ish documents: elements with attributes, text, CDATA, comments, PIs, entities, nesting. */
const xmlish = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, tie('text'), tie('text'), tie('element')),
  text: fc.oneof(
    textPiece,
    textPiece.map((t) => `<![CDATA[${t}]]>`),
    fc.constant('<!-- c -->'),
    fc.constant('<?pi x?>'),
  ),
  element: fc
    .tuple(tagName, fc.array(attribute, { maxLength: 2 }), fc.array(tie('node'), { maxLength: 4 }), fc.boolean())
    .map(([name, attrs, children, selfClose]) =>
      selfClose && children.length === 0
        ? `<${name}${attrs.join('')}/>`
        : `<${name}${attrs.join('')}>${(children as string[]).join('')}</${name}>`,
    ),
})).element;

const prolog = fc.oneof(
  fc.constant(''),
  fc.constant('<?xml version="1.0"?>'),
  fc.constant('<?xml version="1.0" encoding="UTF-8"?>'),
  fc
    .constantFrom('ISO-8859-1', 'GBK', 'GB2312', 'UTF-16', 'windows-1252', 'US-ASCII', 'Big5', 'EBCDIC')
    .map((e) => `<?xml version="1.0" encoding="${e}"?>`),
  fc.constant('<!DOCTYPE xml>'),
  fc.constant('<!DOCTYPE xml [<!ENTITY e "x">]>'),
);

/** The many wrong shapes of total_fee: never a canonical integer in fen. */
const WRONG_FEES: readonly string[] = [
  '',
  ' ',
  '\t',
  '\n',
  '01',
  '00',
  '-1',
  '+1',
  '1.0',
  '1.',
  '.5',
  '1e2',
  '1E2',
  '0x10',
  '0b1',
  '0o7',
  '１００',
  '٣',
  '100 ',
  ' 100',
  '1,000',
  '1_000',
  'NaN',
  'Infinity',
  '-Infinity',
  '9999999999999999',
  '1234567890123456789012',
  '−1',
  '1/2',
  'null',
  'undefined',
  '[]',
  '{}',
  '<1>',
  '&#49;',
  '1\u0000',
  '\u200b1',
  '1\u00a0',
  'true',
  '0.00',
  '-0',
  '1 0',
  '１',
];
/** Fields a payment notification needs; fee_type and cash_fee may be absent (empty = absent: CNY, no cash_fee). */
const REQUIRED = [
  'mch_id',
  'appid',
  'out_trade_no',
  'result_code',
  'return_code',
  'transaction_id',
  'total_fee',
  'time_end',
  'fee_type',
  'cash_fee',
];
const OPTIONAL_WHEN_EMPTY = ['fee_type', 'cash_fee'];
const BLANKS = ['', ' ', '\t', '\n', '  ', '\u3000', '\u00a0'];

const wrongFee = fc.oneof(
  fc.constantFrom(...WRONG_FEES),
  fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => !CANONICAL_FEE.test(s)),
);

// ---- the XML reader ---------------------------------------------------------------------------

describe('parseNotifyXml never throws, never hangs, and refuses what a notification never is', () => {
  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        parse('xml: random bytes', Buffer.from(bytes));
      }),
      { numRuns: 2000 * RUNS },
    );
  });
  test('random Unicode text, with and without a BOM', () => {
    fc.assert(
      fc.property(anyText, fc.boolean(), (text, bom) => {
        parse('xml: random text', bom ? Buffer.concat([BOM, Buffer.from(text)]) : text);
      }),
      { numRuns: 1000 * RUNS },
    );
  });
  test('XML-ish documents: nesting, attributes, CDATA, comments, PIs, entities, declarations', () => {
    fc.assert(
      fc.property(prolog, xmlish, (p, doc) => {
        const r = parse('xml: generated documents', `${p}<xml>${doc}</xml>`);
        if (/<!DOCTYPE|<!ENTITY/i.test(p) || /encoding="(?!UTF-8)/.test(p)) assert.equal(r.ok, false);
        if (r.ok && /<[A-Za-z_][A-Za-z0-9_]*\s[A-Za-z_]/.test(doc)) {
          // An attribute inside a text value (CDATA) is text; anywhere else it is refused.
          assert.ok(doc.includes('<![CDATA['), `an attribute was accepted: ${doc}`);
        }
      }),
      { numRuns: 2000 * RUNS },
    );
  });
  test('flat documents of unique leaves are read exactly as sent (the oracle)', () => {
    const value = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((v) => !v.includes(']]>') && !v.includes('\r'));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(tagName, value), { selector: ([k]) => k, maxLength: 40 }),
        fc.boolean(),
        (pairs, bom) => {
          const fields = Object.fromEntries(pairs);
          const xml = toNotifyXml(fields);
          const r = parse('xml: flat documents', bom ? Buffer.concat([BOM, Buffer.from(xml)]) : xml);
          if (pairs.length === 0) return assert.equal(r.ok, false);
          assert.ok(r.ok, r.ok ? '' : r.message);
          assert.deepEqual(r.fields, fields);
        },
      ),
      { numRuns: 1000 * RUNS },
    );
  });
  test('repeated tags, attributes, nesting and text beside elements are refused', () => {
    const breakers: ReadonlyArray<(xml: string) => string> = [
      (x) => x.replace('</xml>', '<total_fee>1</total_fee></xml>'),
      (x) => x.replace('<total_fee>', '<total_fee a="1">'),
      (x) => x.replace('<xml>', '<xml a="1">'),
      (x) => x.replace('<total_fee>', '<total_fee><inner>1</inner>'),
      (x) => x.replace('</appid>', '</appid>stray text'),
      (x) => `${x}<xml></xml>`,
      (x) => `<root>${x}</root>`,
      (x) => x.replace('<appid>', '<xsi:appid>').replace('</appid>', '</xsi:appid>'),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...breakers),
        fc.constantFrom('MD5' as const, 'HMAC-SHA256' as const),
        (breakIt, type) => {
          assert.equal(parse('xml: structure breakers', breakIt(validXml('BADIN3', type))).ok, false);
        },
      ),
      { numRuns: 200 * RUNS },
    );
  });
  test('every truncation of a valid notification is refused', () => {
    const xml = validXml();
    for (let cut = 0; cut < xml.length; cut++)
      assert.equal(parse('xml: truncations', xml.slice(0, cut)).ok, false, `cut at ${cut}`);
  });
  test('random byte mutations never yield an authenticated notification that says something else', () => {
    const original = signNotification(paidFields('BADIN4'), DEMO.key);
    const xml = Buffer.from(toNotifyXml(original));
    const mutation = fc.tuple(fc.nat(xml.length), fc.nat(8), fc.uint8Array({ maxLength: 8 }));
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let body = xml;
        for (const [at, del, ins] of mutations)
          body = Buffer.concat([
            body.subarray(0, at),
            Buffer.from(ins),
            body.subarray(Math.min(body.length, at + del)),
          ]);
        const r = parse('xml: mutated notifications', body);
        if (!r.ok) return;
        const auth = authenticate(r.fields, directory);
        if (auth.ok) {
          // Only changes outside the signed content may survive (layout): the meaning is the same.
          for (const k of [
            'mch_id',
            'appid',
            'out_trade_no',
            'transaction_id',
            'total_fee',
            'result_code',
            'fee_type',
            'time_end',
          ]) {
            assert.equal(r.fields[k], original[k], `${k} changed but the signature still verified`);
          }
        }
      }),
      { numRuns: 3000 * RUNS },
    );
  });
  test('deep nesting, up to 200 000 levels', () => {
    for (const depth of [10, 100, 1_000, 10_000, 50_000, 200_000]) {
      assert.equal(parse('xml: deep nesting', `<xml>${'<a>'.repeat(depth)}1${'</a>'.repeat(depth)}</xml>`).ok, false);
      assert.equal(parse('xml: deep nesting', `<xml>${'<a>'.repeat(depth)}`).ok, false);
    }
  });
  test('billion laughs and external entities are refused before any expansion', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('')}]><xml><a>&lol9;</a></xml>`;
    const payloads = [
      laughs,
      laughs.replace('<!DOCTYPE', '<!doctype'),
      '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><appid>&x;</appid></xml>',
      '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><xml><a>1</a></xml>',
      '<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd"><xml><a>1</a></xml>',
      '<xml><a>&lol9;</a></xml>',
      '<xml><a>&x;</a></xml>',
      '<xml><a>&#0;</a></xml>',
      '<xml><a>&#xD800;</a></xml>',
      '<xml><!ENTITY x "y"><a>1</a></xml>',
      `<xml><a>${'&amp;'.repeat(10_000)}</a></xml>`,
    ];
    for (const p of payloads) {
      const r = parse('xml: entity payloads', p);
      if (p.includes('&amp;')) assert.ok(r.ok);
      else assert.equal(r.ok, false, p.slice(0, 60));
    }
  });
  test('declared encodings other than UTF-8 are refused; UTF-8 with a BOM is read', () => {
    for (const enc of [
      'ISO-8859-1',
      'GBK',
      'gb2312',
      'UTF-16',
      'UTF-16LE',
      'windows-1252',
      'us-ascii',
      'Shift_JIS',
      'utf-7',
      'x',
    ]) {
      assert.equal(
        parse('xml: declared encodings', `<?xml version="1.0" encoding="${enc}"?>${validXml()}`).ok,
        false,
        enc,
      );
    }
    for (const enc of ['UTF-8', 'utf-8', 'utf8'])
      assert.ok(parse('xml: declared encodings', `<?xml version="1.0" encoding="${enc}"?>${validXml()}`).ok, enc);
    assert.ok(parse('xml: declared encodings', Buffer.concat([BOM, Buffer.from(validXml())])).ok);
    assert.equal(parse('xml: declared encodings', Buffer.from(`\ufeff${validXml()}`, 'utf16le')).ok, false);
    assert.equal(
      parse('xml: declared encodings', Buffer.from(validXml(), 'latin1').subarray(0, 10).toString() + '\xff').ok,
      false,
    );
  });
  test('thousands of fields are refused; very long values are read', () => {
    for (const n of [MAX_FIELDS + 1, 1_000, 5_000, 20_000]) {
      assert.equal(
        parse(
          'xml: thousands of fields',
          `<xml>${Array.from({ length: n }, (_, i) => `<f${i}>${i}</f${i}>`).join('')}</xml>`,
        ).ok,
        false,
        `${n}`,
      );
    }
    for (const n of [64 * 1024, 1024 * 1024, 8 * 1024 * 1024]) {
      const r = parse('xml: huge bodies', `<xml><attach><![CDATA[${'字'.repeat(n / 3)}]]></attach></xml>`);
      assert.ok(r.ok);
      assert.equal(parse('xml: huge bodies', `<xml><a>${'<'.repeat(n)}</a></xml>`).ok, false);
      assert.equal(parse('xml: huge bodies', `<xml>${' '.repeat(n)}`).ok, false);
    }
  });
});

// ---- the signature check ------------------------------------------------------------------------

describe('authenticate and the notice reader: no unsigned change gets through, no wrong shape is read', () => {
  test('random field sets are never authenticated without the key', () => {
    const fields = fc.dictionary(
      fc.oneof(tagName, fc.constantFrom('mch_id', 'appid', 'sign', 'sign_type', 'total_fee')),
      fc.string({ unit: 'binary', maxLength: 40 }),
      { maxKeys: 20 },
    );
    fc.assert(
      fc.property(
        fields,
        fc.constantFrom(DEMO.mchId, HMAC_ONLY.mchId, '19999999', ''),
        fc.boolean(),
        (f, mchId, withAppid) => {
          count('authenticate: random fields');
          const all = {
            ...f,
            mch_id: mchId,
            ...(withAppid ? { appid: mchId === HMAC_ONLY.mchId ? HMAC_ONLY.appid : DEMO.appid } : {}),
          };
          assert.equal(authenticate(all, directory).ok, false);
        },
      ),
      { numRuns: 2000 * RUNS },
    );
  });
  test('changing, adding or removing any signed field of a valid notification is refused', () => {
    const base = signNotification(paidFields('BADIN5', { attach: '支付测试' }), DEMO.key);
    const names = Object.keys(base).filter((k) => k !== 'sign');
    const change = fc.oneof(
      fc.tuple(
        fc.constant('change' as const),
        fc.constantFrom(...names),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
      ),
      fc.tuple(fc.constant('add' as const), tagName, fc.string({ unit: 'binary', minLength: 1, maxLength: 20 })),
      fc.tuple(fc.constant('remove' as const), fc.constantFrom(...names), fc.constant('')),
    );
    fc.assert(
      fc.property(change, ([how, name, value]) => {
        count('authenticate: tampered fields');
        const f: Record<string, string> = { ...base };
        if (how === 'remove') delete f[name];
        else if (how === 'add' && name in f) return;
        else if (f[name] === value) return;
        else f[name] = value;
        const auth = authenticate(f, directory);
        assert.equal(auth.ok, false, `${how} ${name}=${JSON.stringify(value)} was accepted`);
      }),
      { numRuns: 2000 * RUNS },
    );
  });
  test('a signature from another key, or sign_type games, are refused', () => {
    const key = fc.stringMatching(/^[A-Za-z0-9]{32}$/).filter((k) => k !== DEMO.key);
    fc.assert(
      fc.property(
        key,
        fc.constantFrom('MD5' as const, 'HMAC-SHA256' as const),
        fc.constantFrom(undefined, 'md5', 'hmac-sha256', 'SHA256', 'MD5 ', ''),
        (k, type, signType) => {
          count('authenticate: forged signatures');
          const forged = signNotification(paidFields('BADIN6'), k, type);
          assert.equal(authenticate(forged, directory).ok, false);
          if (signType !== undefined) {
            const games = signNotification({ ...paidFields('BADIN6'), sign_type: signType }, DEMO.key, 'MD5');
            const auth = authenticate(games, directory);
            // "" means absent (MD5), as WeChat documents; any other spelling is refused.
            assert.equal(auth.ok, signType === '', `sign_type ${JSON.stringify(signType)}`);
          }
        },
      ),
      { numRuns: 500 * RUNS },
    );
  });
  test('total_fee in every wrong shape, correctly signed: authenticated, then refused as MALFORMED', () => {
    fc.assert(
      fc.property(
        wrongFee,
        fc.constantFrom('total_fee', 'cash_fee', 'coupon_fee', 'coupon_count', 'settlement_total_fee'),
        (fee, field) => {
          count('notice: wrong amount shapes');
          const f = signedWith({ [field]: fee });
          if (fee === '' && field !== 'total_fee') return;
          assert.ok(authenticate(f, directory).ok);
          const notice = parsePaymentNotice(f);
          assert.equal(notice.ok, false, `${field}=${JSON.stringify(fee)} was read as an amount`);
          if (!notice.ok) assert.equal(notice.result.outcome, 'MALFORMED');
        },
      ),
      { numRuns: 1000 * RUNS },
    );
    for (const fee of WRONG_FEES) {
      count('notice: wrong amount shapes');
      assert.equal(parsePaymentNotice(signedWith({ total_fee: fee })).ok, false, JSON.stringify(fee));
    }
  });
  test('empty and whitespace values in required fields are refused', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REQUIRED), fc.constantFrom(...BLANKS), (name, blank) => {
        if (blank === '' && OPTIONAL_WHEN_EMPTY.includes(name)) return;
        count('notice: blank required fields');
        const f = signedWith({ [name]: blank });
        const auth = authenticate(f, directory);
        assert.ok(!auth.ok || !parsePaymentNotice(f).ok, `${name}=${JSON.stringify(blank)} was read as a payment`);
      }),
      { numRuns: 300 * RUNS },
    );
  });
});

// ---- the whole HTTP endpoint --------------------------------------------------------------------

interface Posted {
  status: number;
  body: string;
  ms: number;
}

function post(
  port: number,
  body: Buffer,
  headers: Record<string, string | number> = {},
  method = 'POST',
): Promise<Posted> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/wxpay/notify',
        method,
        headers: { 'content-type': 'text/xml', 'content-length': body.length, ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 8192) text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: Date.now() - started }));
        res.on('error', reject);
      },
    );
    req.setTimeout(8_000, () => req.destroy(new Error('no reply within 8 s (a hang)')));
    req.on('error', reject);
    // The server may answer 413 and close while a huge body is still being written: the late
    // EPIPE on the socket is expected, after the reply was read.
    req.on('socket', (socket) => socket.on('error', () => {}));
    req.end(body);
  });
}

/** A clear refusal: a 4xx, or a FAIL reply; never an acknowledgement, never a hang. */
function assertRefused(category: string, r: Posted): void {
  count(category);
  const verdict = checkReply(r.status, r.body, r.ms);
  assert.equal(verdict.acknowledged, false, `${category}: acknowledged: ${r.body}`);
  assert.ok(
    (r.status >= 400 && r.status < 500) || verdict.returnCode === 'FAIL',
    `${category}: HTTP ${r.status} ${r.body.slice(0, 200)}`,
  );
  assert.ok(r.ms < 5_000, `${category}: took ${r.ms} ms`);
}

function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

describe('the HTTP endpoint (gateway and core processes, SQLite)', () => {
  let dir: string;
  let core: ServiceProcess;
  let gateway: ServiceProcess;
  let db: Knex;
  let before0: Record<string, number>;
  const counts = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const t of ['orders', 'notifications', 'anomalies', 'payment_events']) {
      out[t] = Number(((await db(t).count({ n: '*' }).first()) as { n: number | string } | undefined)?.n ?? -1);
    }
    return out;
  };

  before(async () => {
    dir = await makeTempDir('bad-input');
    core = await startCoreProcess({
      DATABASE_URL: `sqlite:${dir}/db.sqlite`,
      MERCHANTS_JSON: TEST_MERCHANTS_JSON,
      LOG_LEVEL: 'info',
    });
    gateway = await startGatewayProcess(core.port, { LOG_LEVEL: 'info' });
    // Orders for the forged and malformed notifications to aim at.
    const registrar = grpcOrderRegistrar(`127.0.0.1:${core.port}`);
    await createOrders(
      registrar,
      ['BADIN1', 'BADIN2', 'BADIN3', 'BADIN6'].map((o) => ({
        mchId: DEMO.mchId,
        appid: DEMO.appid,
        outTradeNo: o,
        totalFee: 100,
        feeType: 'CNY',
        role: 'bait' as const,
      })),
    );
    registrar.close();
    db = knex({
      client: 'better-sqlite3',
      connection: { filename: `${dir}/db.sqlite` },
      useNullAsDefault: true,
      pool: { min: 1, max: 1 },
    });
    before0 = await counts();
  });
  after(async () => {
    await db?.destroy();
    await gateway?.stop();
    await core?.stop();
    if (dir) await removeTempDir(dir);
  });

  test('random bytes, generated XML, truncations: refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        assertRefused('http: random bytes', await post(gateway.port, Buffer.from(bytes)));
      }),
      { numRuns: 300 * RUNS },
    );
    await fc.assert(
      fc.asyncProperty(prolog, xmlish, async (p, doc) => {
        assertRefused('http: generated XML', await post(gateway.port, Buffer.from(`${p}<xml>${doc}</xml>`)));
      }),
      { numRuns: 300 * RUNS },
    );
    const xml = validXml('BADIN1');
    for (let cut = 0; cut < xml.length; cut += 7)
      assertRefused('http: truncations', await post(gateway.port, Buffer.from(xml.slice(0, cut))));
  });

  test('hostile payloads: entities, nesting, attributes, repeats, encodings, BOM, thousands of fields', async () => {
    const bodies: Array<[string, Buffer]> = [
      [
        'billion laughs',
        Buffer.from(
          `<!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('')}]><xml><a>&lol9;</a></xml>`,
        ),
      ],
      [
        'external entity',
        Buffer.from('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><appid>&x;</appid></xml>'),
      ],
      ['deep nesting', Buffer.from(`<xml>${'<a>'.repeat(9_000)}${'</a>'.repeat(9_000)}</xml>`)],
      ['attribute', Buffer.from(validXml('BADIN1').replace('<total_fee>', '<total_fee x="1">'))],
      ['repeated tag', Buffer.from(validXml('BADIN1').replace('</xml>', '<total_fee>1</total_fee></xml>'))],
      ['UTF-16 with BOM', Buffer.from(`\ufeff${validXml('BADIN1')}`, 'utf16le')],
      ['declared GBK', Buffer.from(`<?xml version="1.0" encoding="GBK"?>${validXml('BADIN1')}`)],
      [
        'BOM + forged',
        Buffer.concat([BOM, Buffer.from(toNotifyXml(signNotification(paidFields('BADIN1'), 'X'.repeat(32))))]),
      ],
      [
        'thousands of fields',
        Buffer.from(`<xml>${Array.from({ length: 5_000 }, (_, i) => `<f${i}>${i}</f${i}>`).join('')}</xml>`),
      ],
      ['empty body', Buffer.alloc(0)],
      ['whitespace body', Buffer.from('  \n\t ')],
      ['<xml/>', Buffer.from('<xml/>')],
      ['<xml></xml>', Buffer.from('<xml></xml>')],
      [
        'long forged value',
        Buffer.from(
          toNotifyXml(signNotification(paidFields('BADIN1', { attach: 'a'.repeat(60_000) }), 'Y'.repeat(32))),
        ),
      ],
      [
        'long value, bad amount',
        Buffer.from(
          toNotifyXml(
            signNotification(paidFields('BADIN7', { attach: '长'.repeat(20_000), total_fee: '1.00' }), DEMO.key),
          ),
        ),
      ],
    ];
    for (const [name, body] of bodies) assertRefused(`http: ${name}`, await post(gateway.port, body));
  });

  test('signed notifications with wrong amount shapes or blank required fields: MALFORMED, nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(wrongFee, async (fee) => {
        assertRefused(
          'http: wrong amount shapes',
          await post(gateway.port, Buffer.from(toNotifyXml(signedWith({ total_fee: fee })))),
        );
      }),
      { numRuns: 200 * RUNS },
    );
    for (const name of REQUIRED) {
      for (const blank of BLANKS) {
        if (blank === '' && OPTIONAL_WHEN_EMPTY.includes(name)) continue;
        assertRefused(
          'http: blank required fields',
          await post(gateway.port, Buffer.from(toNotifyXml(signedWith({ [name]: blank })))),
        );
      }
    }
  });

  test('huge bodies and odd requests: 4xx, bounded memory', async () => {
    for (const mb of [1, 8, 32]) {
      assertRefused('http: huge bodies', await post(gateway.port, Buffer.alloc(mb * 1024 * 1024, 0x3c)));
    }
    // A declared length far above the limit is refused without reading the body.
    const lying = await new Promise<Posted>((resolve, reject) => {
      const started = Date.now();
      const req = http.request(
        {
          host: '127.0.0.1',
          port: gateway.port,
          path: '/wxpay/notify',
          method: 'POST',
          headers: { 'content-length': 1024 ** 3 },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: '', ms: Date.now() - started }));
        },
      );
      req.on('error', reject);
      req.on('socket', (socket) => socket.on('error', () => {}));
      req.write('<xml>');
      setTimeout(() => req.destroy(), 3_000);
    });
    assertRefused('http: declared 1 GiB', { ...lying, body: '<xml><return_code>FAIL</return_code></xml>' });
    assertRefused(
      'http: gzip',
      await post(gateway.port, Buffer.from(validXml('BADIN1')), { 'content-encoding': 'gzip' }),
    );
    assertRefused(
      'http: chunked',
      await post(gateway.port, Buffer.from('<xml><a'), { 'transfer-encoding': 'chunked', 'content-length': '' }),
    );
    assertRefused('http: GET', await post(gateway.port, Buffer.alloc(0), {}, 'GET'));
    assertRefused('http: PUT', await post(gateway.port, Buffer.from(validXml('BADIN1')), {}, 'PUT'));
    const gatewayMb = peakRssMb(gateway.process?.pid);
    const coreMb = peakRssMb(core.process?.pid);
    assert.ok(gatewayMb < 300 && coreMb < 300, `peak RSS gateway ${gatewayMb} MB, core ${coreMb} MB`);
    count('http: peak RSS checked');
  });

  test('afterwards: nothing was stored, nothing crashed; the count of what was tried', async (t) => {
    assert.deepEqual(await counts(), before0, 'no table changed');
    assert.ok(core.process?.running && gateway.process?.running, `${core.output()}\n${gateway.output()}`);
    const total = Object.values(tried).reduce((s, n) => s + n, 0);
    t.diagnostic(`bad inputs tried: ${total}`);
    for (const [k, n] of Object.entries(tried).sort()) t.diagnostic(`  ${k}: ${n}`);
    t.diagnostic(
      `peak RSS: gateway ${peakRssMb(gateway.process?.pid).toFixed(0)} MB, core ${peakRssMb(core.process?.pid).toFixed(0)} MB`,
    );
    process.stdout.write(
      `bad inputs tried: ${total} (${Object.entries(tried)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})\n`,
    );
  });
});
