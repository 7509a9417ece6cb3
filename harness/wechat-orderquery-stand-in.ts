// A local stand-in for WeChat Pay's v2 `POST /pay/orderquery` and `POST /pay/refundquery`, on
// 127.0.0.1 and a free port. It checks each request's signature with the merchant's key (as
// WeChat does), counts the requests per out_trade_no (per out_refund_no for refundquery) with
// their arrival times, and answers signed XML from a scripted table (one per API).
// Written from WeChat's documented rules, sharing no code with src/, so the reconciler and the
// refund confirmation are never checked against themselves.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { v2Signature, type V2SignType } from './v2-signature';

export type StandInSignType = V2SignType;

/** The reply body: every value in CDATA, as WeChat writes it. */
export function toReplyXml(fields: Readonly<Record<string, string>>): string {
  return `<xml>${Object.entries(fields)
    .map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`)
    .join('')}</xml>`;
}

export interface StandInMerchant {
  readonly mchId: string;
  readonly appid: string;
  readonly key: string;
}

/** One scripted answer. */
export type ScriptedAnswer =
  | {
      readonly tradeState: 'SUCCESS';
      readonly transactionId: string;
      readonly totalFee?: number;
      readonly timeEnd?: string;
      readonly forgedWithKey?: string;
    }
  | {
      readonly tradeState: 'NOTPAY' | 'USERPAYING' | 'ACCEPT' | 'CLOSED' | 'REVOKED' | 'PAYERROR' | 'REFUND';
      readonly forgedWithKey?: string;
    }
  | { readonly errCode: 'ORDERNOTEXIST' | 'SYSTEMERROR' }
  | { readonly returnFail: string }
  | { readonly httpStatus: number };

/** What to answer for the `attempt`-th request (1-based) about `outTradeNo`. */
export type Script = (outTradeNo: string, attempt: number) => ScriptedAnswer;

/** One scripted refundquery answer, as WeChat documents the reply (refund_count, *_$n fields). */
export type RefundScriptedAnswer =
  | {
      /** refund_status_$n: SUCCESS, CHANGE (abnormal), REFUNDCLOSE or PROCESSING. */
      readonly refundStatus: 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE' | 'PROCESSING';
      readonly outTradeNo: string;
      readonly transactionId: string;
      readonly refundFee: number;
      /** Default 100. */
      readonly totalFee?: number;
      /** Default as harness/refund-notification.ts makes it: 5030 + out_refund_no, cut to 32, other characters as 0. */
      readonly refundId?: string;
      /** Other refunds of the order listed before this one (so it is not out_refund_no_0). */
      readonly otherRefundsFirst?: readonly string[];
      /** Report these refunds instead of the one asked about (a misdirected or replayed reply). */
      readonly onlyOtherRefunds?: boolean;
      readonly forgedWithKey?: string;
    }
  | { readonly errCode: 'REFUNDNOTEXIST' | 'SYSTEMERROR' }
  | { readonly returnFail: string }
  | { readonly httpStatus: number };

/** What to answer for the `attempt`-th refundquery (1-based) about `outRefundNo`. */
export type RefundScript = (outRefundNo: string, attempt: number) => RefundScriptedAnswer;

interface RecordedRefundQuery {
  readonly outRefundNo: string;
  /** performance.now() at arrival. */
  readonly at: number;
  readonly signType: StandInSignType;
  readonly signatureValid: boolean;
  readonly fields: Readonly<Record<string, string>>;
}

interface RecordedQuery {
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
  /** orderquery requests only. */
  readonly queries: readonly RecordedQuery[];
  countFor(outTradeNo: string): number;
  script: Script;
  /** refundquery requests. */
  readonly refundQueries: readonly RecordedRefundQuery[];
  refundCountFor(outRefundNo: string): number;
  refundScript: RefundScript;
  close(): Promise<void>;
}

/** Unscripted orders are simply not paid yet. */
const NOT_PAID: Script = () => ({ tradeState: 'NOTPAY' });
/** Unscripted refunds do not exist. */
const NO_REFUND: RefundScript = () => ({ errCode: 'REFUNDNOTEXIST' });

export async function startOrderQueryStandIn(
  merchants: readonly StandInMerchant[],
  script: Script = NOT_PAID,
  refundScript: RefundScript = NO_REFUND,
): Promise<OrderQueryStandIn> {
  const queries: RecordedQuery[] = [];
  const refundQueries: RecordedRefundQuery[] = [];
  const state = { script, refundScript };
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
    if (req.method !== 'POST' || (req.url !== '/pay/orderquery' && req.url !== '/pay/refundquery')) {
      res.writeHead(404).end();
      return;
    }
    const fields = parseFlat(Buffer.concat(chunks).toString('utf8'));
    const merchant = merchants.find((m) => m.mchId === fields['mch_id'] && m.appid === fields['appid']);
    const signType: StandInSignType = fields['sign_type'] === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';
    const signatureValid = merchant !== undefined && fields['sign'] === v2Signature(fields, merchant.key, signType);
    const reply = (body: Record<string, string>): void => {
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(toReplyXml(body));
    };
    if (req.url === '/pay/refundquery') {
      const outRefundNo = fields['out_refund_no'] ?? '';
      refundQueries.push({ outRefundNo, at, signType, signatureValid, fields });
      if (!merchant || !signatureValid) {
        reply({ return_code: 'FAIL', return_msg: '签名错误' });
        return;
      }
      const attempt = refundQueries.filter((q) => q.outRefundNo === outRefundNo && q.signatureValid).length;
      answerRefundQuery(state.refundScript(outRefundNo, attempt), merchant, fields, signType, res, reply);
      return;
    }
    const outTradeNo = fields['out_trade_no'] ?? '';
    queries.push({ outTradeNo, at, signType, signatureValid, fields });
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
      body = {
        ...common,
        result_code: 'FAIL',
        err_code: answer.errCode,
        err_code_des: answer.errCode === 'ORDERNOTEXIST' ? '此交易订单号不存在' : '系统错误',
      };
    } else {
      key = answer.forgedWithKey ?? merchant.key;
      body = {
        ...common,
        result_code: 'SUCCESS',
        out_trade_no: outTradeNo,
        trade_state: answer.tradeState,
        trade_state_desc: answer.tradeState,
      };
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
    reply({ ...body, sign: v2Signature(body, key, signType) });
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
    get script() {
      return state.script;
    },
    set script(s: Script) {
      state.script = s;
    },
    refundQueries,
    refundCountFor: (outRefundNo) => refundQueries.filter((q) => q.outRefundNo === outRefundNo).length,
    get refundScript() {
      return state.refundScript;
    },
    set refundScript(s: RefundScript) {
      state.refundScript = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A refundquery reply as WeChat documents it: the order's fields once, then refund_count refunds
 * numbered from 0 (out_refund_no_$n, refund_id_$n, refund_fee_$n, refund_status_$n, ...). A
 * sub-merchant's query gets its sub_mch_id back.
 */
function answerRefundQuery(
  answer: RefundScriptedAnswer,
  merchant: StandInMerchant,
  request: Readonly<Record<string, string>>,
  signType: StandInSignType,
  res: ServerResponse,
  reply: (body: Record<string, string>) => void,
): void {
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
    ...(request['sub_mch_id'] ? { sub_mch_id: request['sub_mch_id'] } : {}),
    nonce_str: randomBytes(8).toString('hex'),
  };
  if ('errCode' in answer) {
    const body = {
      ...common,
      result_code: 'FAIL',
      err_code: answer.errCode,
      err_code_des: answer.errCode === 'REFUNDNOTEXIST' ? '退款订单查询失败' : '系统错误',
    };
    reply({ ...body, sign: v2Signature(body, merchant.key, signType) });
    return;
  }
  const asked = request['out_refund_no'] ?? '';
  const refundNos = [...(answer.otherRefundsFirst ?? []), ...(answer.onlyOtherRefunds ? [] : [asked])];
  const total = String(answer.totalFee ?? 100);
  const body: Record<string, string> = {
    ...common,
    result_code: 'SUCCESS',
    transaction_id: answer.transactionId,
    out_trade_no: answer.outTradeNo,
    total_fee: total,
    cash_fee: total,
    fee_type: 'CNY',
    refund_count: String(refundNos.length),
  };
  refundNos.forEach((no, n) => {
    const mine = no === asked;
    const status = mine ? answer.refundStatus : 'SUCCESS';
    Object.assign(body, {
      [`out_refund_no_${n}`]: no,
      [`refund_id_${n}`]:
        mine && answer.refundId !== undefined
          ? answer.refundId
          : `5030${no}`.slice(0, 32).replace(/[^A-Za-z0-9]/g, '0'),
      [`refund_channel_${n}`]: 'ORIGINAL',
      [`refund_fee_${n}`]: String(mine ? answer.refundFee : 1),
      [`settlement_refund_fee_${n}`]: String(mine ? answer.refundFee : 1),
      [`refund_status_${n}`]: status,
      [`refund_account_${n}`]: 'REFUND_SOURCE_RECHARGE_FUNDS',
      [`refund_recv_accout_${n}`]: '支付用户零钱',
      ...(status === 'SUCCESS' ? { [`refund_success_time_${n}`]: '2026-11-28 10:00:00' } : {}),
    });
  });
  reply({ ...body, sign: v2Signature(body, answer.forgedWithKey ?? merchant.key, signType) });
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
