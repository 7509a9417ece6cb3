import { randomBytes } from 'node:crypto';
import type { Merchant } from '../notify/merchant';
import type { Clock } from '../store/payment-store';
import { parseFlatXml } from '../xml/parse-flat-xml';
import { buildOrderQuery, type OrderQueryTarget } from './orderquery-request';
import { interpretOrderQueryReply, type QueryVerdict } from './orderquery-reply';

/** One orderquery call, as reconciliation sees it. */
export interface OrderQueryAnswer {
  readonly verdict: QueryVerdict;
  /** The reply's fields (empty without a parseable reply); they are what a PAID verdict stores. */
  readonly fields: Readonly<Record<string, string>>;
  /** The reply body as received ('' without one), for the audit trail. */
  readonly rawBody: string;
}

/** Asks WeChat about one order; never throws for a failed call, which is a NO_ANSWER verdict. */
export interface OrderQueryClient {
  query(target: OrderQueryTarget, merchant: Merchant, signal?: AbortSignal): Promise<OrderQueryAnswer>;
}

export interface HttpOrderQueryClientOptions {
  /** e.g. https://api.mch.weixin.qq.com (no trailing slash); the call goes to `${apiBase}/pay/orderquery`. */
  readonly apiBase: string;
  /** The whole call, connect to last byte. */
  readonly timeoutMs: number;
  /** For the previous API key's rotation overlap when verifying replies. */
  readonly clock: Clock;
  /** nonce_str; 32 random hex digits unless a test fixes it. */
  readonly nonce?: () => string;
  readonly fetch?: typeof fetch;
}

/** A reply is about 1 KiB; anything near this bound is not WeChat. */
const MAX_REPLY_BYTES = 64 * 1024;

/** WeChat Pay API v2 `POST /pay/orderquery` over HTTPS (no client certificate needed). */
export class HttpOrderQueryClient implements OrderQueryClient {
  private readonly url: string;
  private readonly nonce: () => string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: HttpOrderQueryClientOptions) {
    this.url = `${options.apiBase}/pay/orderquery`;
    this.nonce = options.nonce ?? (() => randomBytes(16).toString('hex'));
    this.fetch = options.fetch ?? fetch;
  }

  async query(target: OrderQueryTarget, merchant: Merchant, signal?: AbortSignal): Promise<OrderQueryAnswer> {
    const request = buildOrderQuery(target, merchant, this.nonce());
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let body: Uint8Array;
    try {
      const res = await this.fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml, application/xml' },
        body: request.xml,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        redirect: 'error',
      });
      body = await readLimited(res);
      if (res.status !== 200) return noAnswer(`HTTP ${res.status} from ${this.url}`);
    } catch (e) {
      const reason = timeout.aborted ? `no reply within ${this.options.timeoutMs} ms` : e instanceof Error ? `${e.message}${causeOf(e)}` : String(e);
      return noAnswer(`${this.url}: ${reason}`);
    }
    const parsed = parseFlatXml(Buffer.from(body), 'xml');
    if (!parsed.ok) return noAnswer(`unreadable reply: ${parsed.message}`);
    // parseFlatXml decoded it as strict UTF-8, so this is the text exactly as received.
    const rawBody = Buffer.from(body).toString('utf8');
    return {
      verdict: interpretOrderQueryReply(parsed.fields, { target, merchant, signType: request.signType, now: this.options.clock() }),
      fields: parsed.fields,
      rawBody,
    };
  }
}

async function readLimited(res: Response): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_REPLY_BYTES) {
      await reader.cancel();
      throw new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** fetch reports "fetch failed" and keeps the reason (ECONNREFUSED...) in `cause`. */
function causeOf(e: Error): string {
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? ` (${cause.message})` : '';
}

function noAnswer(message: string): OrderQueryAnswer {
  return { verdict: { kind: 'NO_ANSWER', label: 'TRANSPORT_ERROR', message }, fields: {}, rawBody: '' };
}
