import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIPv4 } from 'node:net';
import { OPERATOR_PATTERN, type ConsoleConfig } from './config';

export type OperatorVerdict =
  | { readonly ok: true; readonly operator: string }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

/**
 * Who is asking. Without a proxy, the configured local operator (the console only listens on
 * loopback then). Behind one, the user header is believed only from a trusted proxy's address:
 * anyone else could set it to any name, so their requests are refused outright.
 */
export function operatorOf(
  req: Pick<IncomingMessage, 'headers' | 'socket'>,
  identity: ConsoleConfig['identity'],
): OperatorVerdict {
  if (identity.kind === 'local') return { ok: true, operator: identity.localOperator };
  const peer = req.socket.remoteAddress ?? '';
  // Node reports IPv4 peers of a dual-stack socket as ::ffff:a.b.c.d.
  const v4 = peer.startsWith('::ffff:') && isIPv4(peer.slice(7)) ? peer.slice(7) : undefined;
  const trusted =
    v4 !== undefined
      ? identity.trusted.check(v4, 'ipv4') || identity.trusted.check(peer, 'ipv6')
      : identity.trusted.check(peer, isIPv4(peer) ? 'ipv4' : 'ipv6');
  if (!trusted) {
    return { ok: false, status: 403, message: 'This console is reached through its authenticating proxy only.' };
  }
  const raw = req.headers[identity.userHeader];
  const user = Array.isArray(raw) ? undefined : raw?.trim();
  if (!user || !OPERATOR_PATTERN.test(user)) {
    return {
      ok: false,
      status: 401,
      message: `The proxy did not say who you are (no usable ${identity.userHeader} header): sign in again.`,
    };
  }
  return { ok: true, operator: user };
}

/**
 * CSRF tokens bound to the operator: HMAC(secret, operator), the secret new at every start.
 * A page from another site cannot read the token, and a token taken from one operator does not
 * work for another. POSTs also must not say Sec-Fetch-Site: cross-site (checked by the server).
 */
export class CsrfTokens {
  private readonly secret: Buffer;

  constructor(secret: Buffer = randomBytes(32)) {
    this.secret = secret;
  }

  tokenFor(operator: string): string {
    return createHmac('sha256', this.secret).update(operator).digest('base64url');
  }

  verify(operator: string, token: string | undefined): boolean {
    if (token === undefined) return false;
    const expected = Buffer.from(this.tokenFor(operator));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/**
 * The note ResolveAnomaly records. The core records the console's caller name as resolved_by
 * and its request has no operator field, so the operator goes in front of the note:
 * resolutionNote('alice@example.com', 'refunded') => 'operator alice@example.com: refunded'
 */
export function resolutionNote(operator: string, note: string): string {
  return `operator ${operator}: ${note.trim()}`;
}

/** The operator and the note back out of a recorded note; undefined when not written by the console. */
export function parseResolutionNote(recorded: string): { operator: string; note: string } | undefined {
  const m = /^operator ([^:]{1,128}): ([\s\S]*)$/.exec(recorded);
  return m && m[1] !== undefined && m[2] !== undefined ? { operator: m[1], note: m[2] } : undefined;
}
