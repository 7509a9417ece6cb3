import type { Merchant } from '../notify/merchant';
import { postQuery, randomNonce, type QueryClientOptions } from './query-transport';
import type { ExpectedReply } from './reply-authenticity';
import type { QueryParty, SignedQuery } from './signed-query';

/** One v2 query call: the verdict, and what it was read from. */
export interface QueryAnswer<Verdict> {
  readonly verdict: Verdict;
  /** The reply's fields (empty without a parseable reply). */
  readonly fields: Readonly<Record<string, string>>;
  /** The reply body as received ('' without one), for the audit trail. */
  readonly rawBody: string;
}

/** Asks WeChat about one target; never throws for a failed call, which is a NO_ANSWER verdict. */
export interface QueryClient<Target, Verdict> {
  query(target: Target, merchant: Merchant, signal?: AbortSignal): Promise<QueryAnswer<Verdict>>;
}

/** The verdict of a call that got no reply; every query's verdict type has this member. */
interface TransportFailure {
  readonly kind: 'NO_ANSWER';
  readonly label: 'TRANSPORT_ERROR';
  readonly message: string;
}

/** What differs between orderquery and refundquery: the path, the request and the reading of the reply. */
export interface SignedQueryKind<Target extends QueryParty, Verdict> {
  /** Appended to `apiBase`, e.g. '/pay/orderquery'. */
  readonly path: string;
  build(target: Target, merchant: Merchant, nonce: string): SignedQuery;
  interpret(fields: Readonly<Record<string, string>>, expected: ExpectedReply<Target>): Verdict;
}

/**
 * A WeChat Pay API v2 query over HTTPS (no client certificate needed): sign the request, POST it,
 * authenticate and read the reply. Both orderquery and refundquery are this with another
 * SignedQueryKind, so a fix to the call (timeouts, nonce, the clock for key rotation) reaches both.
 */
export class HttpSignedQueryClient<Target extends QueryParty, Verdict> implements QueryClient<
  Target,
  Verdict | TransportFailure
> {
  private readonly url: string;
  private readonly nonce: () => string;

  constructor(
    private readonly kind: SignedQueryKind<Target, Verdict>,
    private readonly options: QueryClientOptions,
  ) {
    this.url = `${options.apiBase}${kind.path}`;
    this.nonce = options.nonce ?? randomNonce;
  }

  async query(
    target: Target,
    merchant: Merchant,
    signal?: AbortSignal,
  ): Promise<QueryAnswer<Verdict | TransportFailure>> {
    const request = this.kind.build(target, merchant, this.nonce());
    const reply = await postQuery(this.url, request.xml, this.options, signal);
    if (!reply.ok)
      return {
        verdict: { kind: 'NO_ANSWER', label: 'TRANSPORT_ERROR', message: reply.message },
        fields: {},
        rawBody: '',
      };
    return {
      verdict: this.kind.interpret(reply.fields, {
        target,
        merchant,
        signType: request.signType,
        now: this.options.clock(),
      }),
      fields: reply.fields,
      rawBody: reply.rawBody,
    };
  }
}
