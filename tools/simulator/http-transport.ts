import http from 'node:http';
import https from 'node:https';

/** What came back for one POST: a status and (the start of) the body. */
export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/**
 * Posts a notification body. Resolves with any HTTP reply; rejects with a TransportError when
 * there was none (refused, reset, timed out).
 */
export type Transport = (url: string, body: string, timeoutMs: number) => Promise<HttpReply>;

export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface HttpTransportOptions {
  /** Reuse connections (default true); WeChat's servers open new ones, which costs the same here. */
  readonly keepAlive?: boolean;
  /** Sockets per origin (default 256). */
  readonly maxSockets?: number;
  /** Longest reply body kept (default 4 KiB); the rest is read and dropped. */
  readonly maxBodyChars?: number;
}

export interface ClosableTransport {
  readonly send: Transport;
  close(): void;
}

/** A Transport over node:http / node:https with a bounded reply and a hard timeout. */
export function httpTransport(options: HttpTransportOptions = {}): ClosableTransport {
  const agentOptions = { keepAlive: options.keepAlive ?? true, maxSockets: options.maxSockets ?? 256 };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  const maxBody = options.maxBodyChars ?? 4096;
  const send: Transport = (url, body, timeoutMs) =>
    new Promise<HttpReply>((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new TransportError('EINVALIDURL', `not a URL: ${url}`));
        return;
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new TransportError('EINVALIDURL', `only http: and https: URLs, not ${target.protocol}`));
        return;
      }
      const payload = Buffer.from(body, 'utf8');
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const req = (secure ? https : http).request(
        target,
        {
          method: 'POST',
          agent: secure ? agents.https : agents.http,
          headers: {
            'content-type': 'text/xml; charset=utf-8',
            'content-length': payload.length,
            'user-agent': 'payment-callback-simulator',
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < maxBody) text += chunk.slice(0, maxBody - text.length);
          });
          res.on('end', () => finish(() => resolve({ status: res.statusCode ?? 0, body: text })));
          res.on('error', (e: NodeJS.ErrnoException) =>
            finish(() => reject(new TransportError(e.code ?? 'ERESPONSE', e.message))),
          );
        },
      );
      const timer = setTimeout(() => {
        finish(() => reject(new TransportError('ETIMEDOUT', `no reply within ${timeoutMs} ms`)));
        req.destroy();
      }, timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) =>
        finish(() => reject(new TransportError(e.code ?? 'EREQUEST', e.message))),
      );
      req.end(payload);
    });
  return {
    send,
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
