// A slow HTTP client over a raw TCP socket (node:net): sends the start of a request at once,
// then one byte at a time, and measures how long the server lets it live. fetch cannot do this:
// it sends a request's headers in one write and a body as fast as the socket takes it.

import net from 'node:net';

export interface TrickleOptions {
  readonly port: number;
  /** Sent at once on connect: a request line and some headers, or a whole head and part of a body. */
  readonly head: string;
  /** The byte sent every `intervalMs` after `head`, forever (never completes a header line or a body). */
  readonly drip?: string;
  readonly intervalMs: number;
  /** The client gives up (and reports `survived`) after this long. */
  readonly giveUpMs: number;
}

export interface TrickleResult {
  /** From the first byte sent until the server closed (or the client gave up). */
  readonly ms: number;
  /** The server closed the connection (FIN or reset) before the client gave up. */
  readonly closedByServer: boolean;
  /** The status of the response the server sent before closing, if any. */
  readonly status: number | undefined;
  /** Everything the server sent. */
  readonly response: string;
  /** Bytes sent after `head`. */
  readonly dripped: number;
}

/**
 * trickle({ port, head: 'POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ', intervalMs: 500, giveUpMs: 20_000 })
 *   => { ms: 5_380, closedByServer: true, status: 408, ... } against a server with a 5 s headers timeout.
 */
export function trickle(options: TrickleOptions): Promise<TrickleResult> {
  const drip = options.drip ?? 'a';
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: options.port });
    const received: Buffer[] = [];
    let started = 0;
    let dripped = 0;
    let timer: NodeJS.Timeout | undefined;
    let giveUp: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      const ms = Date.now() - started;
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      const response = Buffer.concat(received).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1];
      resolve({ ms, closedByServer, status: status === undefined ? undefined : Number(status), response, dripped });
    };
    socket.setNoDelay(true);
    socket.once('connect', () => {
      started = Date.now();
      socket.write(options.head);
      timer = setInterval(() => {
        if (socket.writable) {
          socket.write(drip);
          dripped += Buffer.byteLength(drip);
        }
      }, options.intervalMs);
      giveUp = setTimeout(() => finish(false), options.giveUpMs);
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // A reset counts as closed by the server; so does a write after its FIN (EPIPE).
    socket.on('error', (e) => (started === 0 ? reject(e) : finish(true)));
    socket.once('close', () => finish(true));
    // Our half stays open: the server, not the client, must end the connection.
    socket.on('end', () => finish(true));
  });
}

/**
 * Sends `request` (in one write, or as parts `gapMs` apart) and returns the server's answer once
 * it is complete (by Content-Length or the last chunk) or the server closes. Our half of the
 * connection stays open: nginx takes a client's FIN before the answer as "client went away".
 */
export function rawRequest(
  port: number,
  request: string | readonly string[],
  options: { readonly gapMs?: number; readonly timeoutMs?: number } = {},
): Promise<{ status: number | undefined; headers: string; body: string }> {
  const parts = typeof request === 'string' ? [request] : request;
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    let gap: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms: ${Buffer.concat(received).toString('latin1')}`));
    }, timeoutMs);
    socket.once('connect', () => {
      let i = 0;
      const next = (): void => {
        const part = parts[i++];
        if (part === undefined || !socket.writable) return;
        socket.write(part);
        gap = setTimeout(next, options.gapMs ?? 0);
      };
      next();
    });
    const parse = (): { status: number | undefined; headers: string; body: string; complete: boolean } => {
      // latin1: one character per byte, so lengths and chunk sizes count bytes.
      const text = Buffer.concat(received).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const headers = split < 0 ? text : text.slice(0, split);
      const body = split < 0 ? '' : text.slice(split + 4);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1];
      const length = /\r\ncontent-length: *(\d+)/i.exec(headers)?.[1];
      const chunked = /\r\ntransfer-encoding: *chunked/i.test(headers);
      const complete =
        split >= 0 && (length !== undefined ? body.length >= Number(length) : chunked && body.endsWith('0\r\n\r\n'));
      const payload = Buffer.from(chunked ? unchunk(body) : body, 'latin1').toString('utf8');
      return { status: status === undefined ? undefined : Number(status), headers, body: payload, complete };
    };
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(gap);
      socket.destroy();
      const { complete, ...answer } = parse();
      void complete;
      resolve(answer);
    };
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (parse().complete) finish();
    });
    // A reset after the answer (nginx refusing the rest of a body) still ends in 'close'.
    socket.on('error', () => undefined);
    socket.once('close', finish);
  });
}

/** The payload of a complete chunked body ("4\r\nabcd\r\n0\r\n\r\n" => "abcd"). */
function unchunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const line = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, line), 16);
    if (line < 0 || !(size > 0)) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}
