// Turns the model's notes into genuine (or forged) WeChat notifications with the independent
// signers of harness/, and sends one delivery to the core over gRPC.

import { createHash } from 'node:crypto';
import { type ServiceError, type status } from '@grpc/grpc-js';
import { NotifyOutcome, type HandleNotifyResponse } from '../../src/gen/payment/callback/v1/payment_callback';
import { refundEnvelope, refundInnerFields } from '../../harness/refund-notification';
import { paidFields, signNotification } from '../../harness/sign-notification';
import { refundResource, signV3, transactionResource, v3Body } from '../../harness/v3-notification';
import { FORGER_V2_KEY, MODEL_MERCHANTS, type ModelMerchant } from './model-merchants';
import type { ModelSystem } from './model-system';
import type { Note, OrderSlot, PaymentNote, RefundNote } from './money-model';

/** The core's answer to one delivery: a verdict, or a gRPC error (what the gateway turns into a 5xx). */
export type Reply =
  | {
      readonly kind: 'verdict';
      readonly outcome: string;
      readonly code: string;
      readonly acknowledge: boolean;
      readonly message: string;
    }
  | { readonly kind: 'error'; readonly status: status; readonly details: string };

export function describeReply(r: Reply): string {
  return r.kind === 'verdict' ? `${r.outcome}/${r.code}` : `gRPC status ${r.status}: ${r.details}`;
}

export async function deliver(system: ModelSystem, slot: OrderSlot, note: Note): Promise<Reply> {
  const merchant = MODEL_MERCHANTS[slot.merchant as 0 | 1];
  const core = system.core;
  let sent: Promise<HandleNotifyResponse>;
  if (note.kind === 'payment') {
    sent =
      note.api === 'v3'
        ? sendV3(system, note, merchant, () => transactionBody(note, slot, merchant))
        : core.notify(v2Payment(note, slot, merchant));
  } else {
    sent =
      note.api === 'v3'
        ? sendV3(system, note, merchant, () => refundBody(note, slot, merchant))
        : core.refundNotify(v2Refund(note, slot, merchant));
  }
  try {
    const res = await sent;
    const outcome = NotifyOutcome[res.outcome].replace(/^NOTIFY_OUTCOME_/, '');
    return { kind: 'verdict', outcome, code: res.code, acknowledge: res.acknowledge, message: res.message };
  } catch (e) {
    const err = e as Partial<ServiceError>;
    if (typeof err.code !== 'number') throw e;
    return { kind: 'error', status: err.code, details: err.details ?? String(e) };
  }
}

function v2Payment(note: PaymentNote, slot: OrderSlot, merchant: ModelMerchant): Record<string, string> {
  const fields = paidFields(slot.outTradeNo, {
    mch_id: merchant.mchId,
    appid: note.appid,
    total_fee: String(note.totalFee),
    cash_fee: String(note.totalFee),
    transaction_id: note.transactionId,
  });
  return signNotification(
    fields,
    note.forged ? FORGER_V2_KEY : merchant.apiKey,
    note.api === 'v2-HMAC' ? 'HMAC-SHA256' : 'MD5',
  );
}

function v2Refund(note: RefundNote, slot: OrderSlot, merchant: ModelMerchant): Record<string, string> {
  const inner = refundInnerFields({
    outTradeNo: slot.outTradeNo,
    outRefundNo: note.outRefundNo,
    refundFee: note.refundFee,
    totalFee: note.totalFee,
    transactionId: note.transactionId,
  });
  // No signature on a v2 refund: decryption under the merchant's key is the proof.
  return refundEnvelope(inner, note.forged ? FORGER_V2_KEY : merchant.apiKey, {
    mchId: merchant.mchId,
    appid: slot.appid,
  });
}

/** The APIv3 notification id of a note: the same for every redelivery. */
function v3Id(note: Note): string {
  return `EV-${createHash('sha256').update(note.identity).digest('hex').slice(0, 32)}`;
}

function transactionBody(note: PaymentNote, slot: OrderSlot, merchant: ModelMerchant): string {
  return v3Body(
    v3Id(note),
    'TRANSACTION.SUCCESS',
    transactionResource({
      mchid: merchant.mchId,
      appid: note.appid,
      outTradeNo: slot.outTradeNo,
      transactionId: note.transactionId,
      total: note.totalFee,
    }),
    merchant.apiV3Key,
  );
}

function refundBody(note: RefundNote, slot: OrderSlot, merchant: ModelMerchant): string {
  return v3Body(
    v3Id(note),
    'REFUND.SUCCESS',
    refundResource({
      mchid: merchant.mchId,
      outTradeNo: slot.outTradeNo,
      transactionId: note.transactionId,
      outRefundNo: note.outRefundNo,
      refund: note.refundFee,
      total: note.totalFee,
    }),
    merchant.apiV3Key,
  );
}

/** WeChat signs every APIv3 delivery anew (timestamp, nonce); the body and its id stay. */
function sendV3(
  system: ModelSystem,
  note: Note,
  merchant: ModelMerchant,
  build: () => string,
): Promise<HandleNotifyResponse> {
  let body = system.v3Bodies.get(note.identity);
  if (body === undefined) {
    body = build();
    system.v3Bodies.set(note.identity, body);
  }
  const headers = signV3(body, note.forged ? merchant.forgedV3Key : merchant.v3Key, Math.floor(Date.now() / 1000));
  return system.core.v3Notify(headers, body);
}
