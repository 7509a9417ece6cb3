// A local stand-in for WeChat Pay's v2 `POST /pay/orderquery`, on 127.0.0.1 and a free port. It
// checks each request's signature with the merchant's key (as WeChat does), counts the requests
// per out_trade_no with their arrival times, and answers signed XML from a scripted table.
// Written from WeChat's documented rules, sharing no code with src/, so the reconciler is never
// checked against itself.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export type StandInSignType = 'MD5' | 'HMAC-SHA256';

/**
 * The v2 signature over `fields` exactly as given (sign left out, empty values left out, keys in
 * ASCII order, &key=... appended). Unlike signNotification it adds no sign_type field: WeChat's
 * replies are signed with the algorithm the request named, without repeating it.
 */
export function signFields(fields: Readonly<Record<string, string>>, key: string, signType: StandInSignType): string {
  const text = Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k] ?? ''}`)
    .concat(`key=${key}`)
    .join('&');
  return signType === 'MD5'
    ? createHash('md5').update(text).digest('hex').toUpperCase()
    : createHmac('sha256', key).update(text).digest('hex').toUpperCase();
}

/** The reply body: every value in CDATA, as WeChat writes it. */
export function toReplyXml(fields: Readonly<Record<string, string>>): string {
  return `<xml>${Object.entries(fields).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`).join('')}</xml>`;
}

export interface StandInMerchant {
  readonly mchId: string;
  readonly appid: string;
  readonly key: string;
}

/** One scripted answer. */
export type ScriptedAnswer =
  | { readonly tradeState: 'SUCCESS'; readonly transactionId: string; readonly totalFee?: number; readonly timeEnd?: string; readonly forgedWithKey?: string }
  | { readonly tradeState: 'NOTPAY' | 'USERPAYING' | 'ACCEPT' | 'CLOSED' | 'REVOKED' | 'PAYERROR' | 'REFUND'; readonly forgedWithKey?: string }
  | { readonly errCode: 'ORDERNOTEXIST' | 'SYSTEMERROR' }
  | { readonly returnFail: string }
  | { readonly httpStatus: number };

/** What to answer for the `attempt`-th request (1-based) about `outTradeNo`. */
export type Script = (outTradeNo: string, attempt: number) => ScriptedAnswer;

export interface RecordedQuery {
  readonly outTradeNo: string;
  /** performance.now() at arrival: real elapsed time, whatever clock the core was given. */
  readonly at: number;
  readonly signType: StandInSignType;
  readonly signatureValid: boolean;
  readonly fields: Readonly<Record<string, string>>;
}

export interface OrderQueryStandIn {
  /** The API base to configure as WECHATPAY_API_BASE, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly queries: readonly RecordedQuery[];
  countFor(outTradeNo: string): number;
  script: Script;
  close(): Promise<void>;
}

/** Unscripted orders are simply not paid yet. */
const NOT_PAID: Script = () => ({ tradeState: 'NOTPAY' });

export async function startOrderQueryStandIn(merchants: readonly StandInMerchant[], script: Script = NOT_PAID): Promise<OrderQueryStandIn> {
  const queries: RecordedQuery[] = [];
  const state = { script };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/pay/orderquery') {
      res.writeHead(404).end();
      return;
    }
    const fields = parseFlat(Buffer.concat(chunks).toString('utf8'));
    const merchant = merchants.find((m) => m.mchId === fields['mch_id'] && m.appid === fields['appid']);
    const signType: StandInSignType = fields['sign_type'] === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';
    const signatureValid = merchant !== undefined && fields['sign'] === signFields(fields, merchant.key, signType);
    const outTradeNo = fields['out_trade_no'] ?? '';
    queries.push({ outTradeNo, at, signType, signatureValid, fields });
    const reply = (body: Record<string, string>): void => {
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(toReplyXml(body));
    };
    if (!merchant || !signatureValid) {
      // What WeChat answers to a bad request signature: unsigned, return_code FAIL.
      reply({ return_code: 'FAIL', return_msg: '签名错误' });
      return;
    }
    const attempt = queries.filter((q) => q.outTradeNo === outTradeNo && q.signatureValid).length;
    const answer = state.script(outTradeNo, attempt);
    if ('httpStatus' in answer) {
      res.writeHead(answer.httpStatus).end('busy');
      return;
    }
    if ('returnFail' in answer) {
      reply({ return_code: 'FAIL', return_msg: answer.returnFail });
      return;
    }
    const common: Record<string, string> = {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: merchant.appid,
      mch_id: merchant.mchId,
      nonce_str: randomBytes(8).toString('hex'),
    };
    let body: Record<string, string>;
    let key = merchant.key;
    if ('errCode' in answer) {
      body = { ...common, result_code: 'FAIL', err_code: answer.errCode, err_code_des: answer.errCode === 'ORDERNOTEXIST' ? '此交易订单号不存在' : '系统错误' };
    } else {
      key = answer.forgedWithKey ?? merchant.key;
      body = { ...common, result_code: 'SUCCESS', out_trade_no: outTradeNo, trade_state: answer.tradeState, trade_state_desc: answer.tradeState };
      if (answer.tradeState === 'SUCCESS' || answer.tradeState === 'REFUND') {
        const paid = answer as { transactionId?: string; totalFee?: number; timeEnd?: string };
        const fee = String(paid.totalFee ?? 100);
        body = {
          ...body,
          openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
          is_subscribe: 'Y',
          trade_type: 'JSAPI',
          bank_type: 'CMC',
          total_fee: fee,
          fee_type: 'CNY',
          cash_fee: fee,
          transaction_id: paid.transactionId ?? `4200${outTradeNo}`.slice(0, 32),
          time_end: paid.timeEnd ?? '20261127120000',
          attach: '支付测试 & <测试>',
        };
      }
    }
    reply({ ...body, sign: signFields(body, key, signType) });
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    queries,
    countFor: (outTradeNo) => queries.filter((q) => q.outTradeNo === outTradeNo).length,
    get script() { return state.script; },
    set script(s: Script) { state.script = s; },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A request body as the stand-in reads it: flat <xml>, text or CDATA leaves, &amp; &lt; &gt; decoded. */
function parseFlat(xml: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of xml.matchAll(/<([A-Za-z_][A-Za-z0-9_]*)>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>/g)) {
    const name = m[1] ?? '';
    if (name === 'xml') continue;
    fields[name] = m[2] ?? (m[3] ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }
  return fields;
}
