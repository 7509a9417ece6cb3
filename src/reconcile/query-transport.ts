import { randomBytes } from 'node:crypto';
import { parseFlatXml } from '../xml/parse-flat-xml';

/** How a v2 query client reaches WeChat; the same for orderquery and refundquery. */
export interface QueryClientOptions {
  /** e.g. https://api.mch.weixin.qq.com (no trailing slash); the query's path is appended. */
  readonly apiBase: string;
  /** The whole call, connect to last byte. */
  readonly timeoutMs: number;
  /** For the previous API key's rotation overlap when verifying replies. */
  readonly clock: () => Date;
  /** nonce_str; 32 random hex digits unless a test fixes it. */
  readonly nonce?: () => string;
  readonly fetch?: typeof fetch;
}

/** A reply read strictly, or why there is none (a transport failure, in words for the log). */
export type QueryReply =
  | {
      readonly ok: true;
      readonly fields: Readonly<Record<string, string>>;
      /** The reply body exactly as received, for the audit trail. */
      readonly rawBody: string;
    }
  | { readonly ok: false; readonly message: string };

/** A reply is about 1 KiB; anything near this bound is not WeChat. */
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * POSTs a signed v2 query over HTTPS (no client certificate needed) and reads the reply with the
 * notification's flat-XML rules. Never throws: a timeout, a refused connection, a status other
 * than 200, a body over 64 KiB or unreadable XML is `{ ok: false, message }`.
 *
 * postQuery('https://api.mch.weixin.qq.com/pay/orderquery', '<xml>...</xml>', options)
 *   => { ok: true, fields: { return_code: 'SUCCESS', ... }, rawBody: '<xml>...</xml>' }
 */
export async function postQuery(
  url: string,
  xml: string,
  options: Pick<QueryClientOptions, 'timeoutMs' | 'fetch'>,
  signal?: AbortSignal,
): Promise<QueryReply> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  let body: Uint8Array;
  try {
    const res = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml, application/xml' },
      body: xml,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      redirect: 'error',
    });
    body = await readLimited(res);
    if (res.status !== 200) return { ok: false, message: `HTTP ${res.status} from ${url}` };
  } catch (e) {
    const reason = timeout.aborted
      ? `no reply within ${options.timeoutMs} ms`
      : e instanceof Error
        ? `${e.message}${causeOf(e)}`
        : String(e);
    return { ok: false, message: `${url}: ${reason}` };
  }
  const parsed = parseFlatXml(Buffer.from(body), 'xml');
  if (!parsed.ok) return { ok: false, message: `unreadable reply: ${parsed.message}` };
  // parseFlatXml decoded it as strict UTF-8, so this is the text exactly as received.
  return { ok: true, fields: parsed.fields, rawBody: Buffer.from(body).toString('utf8') };
}

async function readLimited(res: Response): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (!res.body) return new Uint8Array();
  const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
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

/** nonce_str for a query: 32 random hex digits. */
export function randomNonce(): string {
  return randomBytes(16).toString('hex');
}
