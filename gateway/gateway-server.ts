import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { status } from '@grpc/grpc-js';
import type { PaymentCallbackClient } from '../src/gen/payment/callback/v1/payment_callback';
import type { Logger } from '../src/logger';
import type { GatewayConfig } from './config';
import { handleNotify, handleRefundNotify, handleV3Notify, type CoreCall } from './core-client';
import { GatewayMetrics } from './gateway-metrics';
import { logValue } from './log-value';
import { parseNotifyXml } from './parse-notify-xml';
import { replyFor, replyXml, v3Fail, v3ReplyFor, type Reply } from './reply';

/** The notification paths: v2 payments, v2 refunds (both XML), APIv3 (JSON, signed headers). */
type Route = 'notify' | 'refund' | 'v3';

/** The headers that authenticate an APIv3 notification; the only ones passed to the core. */
const V3_HEADERS = ['Wechatpay-Timestamp', 'Wechatpay-Nonce', 'Wechatpay-Serial', 'Wechatpay-Signature'] as const;

/**
 * How long a client may take to send its request before the gateway answers 408 and closes the
 * connection: the headers within 5 s of the request's first byte, the whole request (headers and
 * body) within 10 s. WeChat sends a notification in one go; only a slow or hostile client, which
 * would otherwise hold a connection (and nginx's in front) open, ever meets them. Node checks
 * these every `checkIntervalMs`; its default of 30 s let a client that trickles a byte every
 * 500 ms live for 30 s or more whatever the timeouts said, now it is ended within a second of them.
 */
export const SLOW_CLIENT_LIMITS = Object.freeze({
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  checkIntervalMs: 1_000,
});

export interface RunningGateway {
  readonly port: number;
  readonly metricsPort: number | undefined;
  /** Stops accepting, lets in-flight notifications finish (up to the grace period), closes the channel. */
  shutdown(): Promise<void>;
}

/**
 * The HTTP adapter: a notification in, one core call, the reply WeChat expects out. v2 payment and
 * refund notifications are XML, parsed here into fields (HandleNotify, HandleRefundNotify); APIv3
 * ones go to HandleV3Notify as raw bytes with their Wechatpay-* headers. It decides nothing about
 * payments; it only refuses bodies that are not a v2 notification at all.
 */
export async function startGateway(
  config: GatewayConfig,
  client: PaymentCallbackClient,
  log: Logger,
): Promise<RunningGateway> {
  let inFlight = 0;
  let draining = false;
  const metrics = new GatewayMetrics();
  const server = createServer(
    {
      headersTimeout: SLOW_CLIENT_LIMITS.headersTimeoutMs,
      requestTimeout: SLOW_CLIENT_LIMITS.requestTimeoutMs,
      connectionsCheckingInterval: SLOW_CLIENT_LIMITS.checkIntervalMs,
    },
    (req, res) => {
      const requestId = requestIdOf(req);
      res.setHeader('x-request-id', requestId);
      // Read now: a socket that Node closes for a slow client no longer knows its peer.
      const ip = clientIp(req, config);
      const started = process.hrtime.bigint();
      const done = (reply: Reply, note: Record<string, unknown> = {}): void => {
        // While draining, every answer closes its connection, so busy keep-alive connections end
        // after the request they carry instead of taking new ones until the grace period runs out.
        if (draining) res.setHeader('connection', 'close');
        send(res, reply);
        metrics.requests.inc({ route: route ?? 'other', status: String(reply.status) });
        log.info(
          {
            request_id: requestId,
            // Never the query string: whatever a sender puts there is not ours to keep.
            method: req.method,
            path: logValue((req.url ?? '').split('?')[0] ?? ''),
            status: reply.status,
            client_ip: ip,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
            ...note,
          },
          'request',
        );
      };
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (req.method === 'GET' && path === '/healthz') {
        res.writeHead(draining ? 503 : 200, { 'content-type': 'text/plain' }).end(draining ? 'draining\n' : 'ok\n');
        return;
      }
      const route: Route | undefined =
        path === config.notifyPath
          ? 'notify'
          : path === config.refundNotifyPath
            ? 'refund'
            : path === config.v3NotifyPath
              ? 'v3'
              : undefined;
      if (route === undefined) {
        done({ status: 404, body: replyXml(false, `no such path; notifications go to ${config.notifyPath}`) });
        return;
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        done(failure(route, 405, 'use POST'));
        return;
      }
      if (draining) {
        // Arrived on a kept-alive connection after SIGTERM: not started, so WeChat's retry (or
        // nginx's next connection, to another pod) takes it.
        req.resume();
        done(failure(route, 503, 'this gateway is shutting down; retry later'));
        return;
      }
      inFlight++;
      void handle(req, { clientIp: ip, requestId }, route)
        .then(
          (r) => done(r.reply, r.note),
          (e: unknown) => {
            log.error({ request_id: requestId, err: e }, 'unexpected gateway error');
            done(failure(route, 500, 'internal error; retry later'));
          },
        )
        .finally(() => {
          inFlight--;
        });
    },
  );
  // Above nginx's upstream keepalive_timeout, so the proxy closes idle connections first.
  server.keepAliveTimeout = 75_000;

  async function handle(
    req: IncomingMessage,
    caller: { readonly clientIp: string; readonly requestId: string },
    route: Route,
  ): Promise<{ reply: Reply; note?: Record<string, unknown> }> {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      req.resume();
      return { reply: failure(route, 415, 'compressed bodies are not accepted') };
    }
    const body = await readBody(req, config.bodyLimitBytes);
    if (body === 'too-large') {
      return { reply: failure(route, 413, `the body exceeds ${config.bodyLimitBytes} bytes`) };
    }
    if (body === 'incomplete') {
      // Nobody is left to answer: Node has already sent 408 (SLOW_CLIENT_LIMITS) or the client
      // hung up. The status is for the log and the metrics: 408, or nginx's 499 for a client gone.
      const errored: NodeJS.ErrnoException | null = req.socket.errored;
      const timedOut = errored?.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      return {
        reply: failure(route, timedOut ? 408 : 499, 'the request body did not arrive in time'),
        note: { incomplete_body: true },
      };
    }
    const options = { requestId: caller.requestId, deadlineMs: config.coreDeadlineMs, token: config.coreToken };
    const callStarted = process.hrtime.bigint();
    let call: CoreCall;
    if (route === 'v3') {
      // The signature covers the exact bytes: they go to the core untouched, parsed by nobody here.
      const headers: Record<string, string> = {};
      for (const name of V3_HEADERS) {
        const value = req.headers[name.toLowerCase()];
        if (typeof value === 'string') headers[name] = value;
      }
      call = await handleV3Notify(client, { headers, rawBody: body, caller }, options);
    } else {
      const parsed = parseNotifyXml(body);
      if (!parsed.ok)
        return { reply: failure(route, 400, parsed.message), note: { rejected: logValue(parsed.message) } };
      const request = { fields: parsed.fields, rawBody: body, caller };
      call =
        route === 'notify'
          ? await handleNotify(client, request, options)
          : await handleRefundNotify(client, request, options);
    }
    metrics.coreCallSeconds.observe(
      { grpc_code: call.ok ? 'OK' : (status[call.code] ?? String(call.code)) },
      Number(process.hrtime.bigint() - callStarted) / 1e9,
    );
    if (!call.ok) {
      // The core did not decide: WeChat must retry. 503 for "not reachable / too slow", 502 otherwise.
      const unreachable = call.code === status.UNAVAILABLE || call.code === status.DEADLINE_EXCEEDED;
      return {
        reply: failure(
          route,
          unreachable ? 503 : 502,
          unreachable ? 'the service is temporarily unavailable; retry later' : 'internal error; retry later',
        ),
        note: { grpc_code: call.code, grpc_details: logValue(call.details) },
      };
    }
    const reply = route === 'v3' ? v3ReplyFor(call.response) : replyFor(call.response);
    return { reply, note: { outcome: call.response.outcome, code: call.response.code } };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const metricsServer = config.metricsListen ? await metrics.serve(config.metricsListen) : undefined;
  log.info(
    {
      port,
      host: config.listen.host,
      path: config.notifyPath,
      refund_path: config.refundNotifyPath,
      v3_path: config.v3NotifyPath,
      core: config.coreTarget,
    },
    'payment-callback gateway listening',
  );

  let stopping: Promise<void> | undefined;
  return {
    port,
    metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : undefined,
    shutdown: () => {
      stopping ??= (async () => {
        draining = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = Date.now() + config.shutdownGraceMs;
        while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        server.closeAllConnections();
        await closed;
        if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
        client.close();
        log.info('gateway stopped');
      })();
      return stopping;
    },
  };
}

/** A refusal in the format of the route: v2 reply XML, or APIv3's {"code":"FAIL","message":...}. */
function failure(route: Route, httpStatus: number, message: string): Reply {
  return route === 'v3' ? v3Fail(httpStatus, message) : { status: httpStatus, body: replyXml(false, message) };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  if (reply.status === 204) {
    res.writeHead(204).end();
    return;
  }
  res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/xml; charset=utf-8' });
  res.end(reply.body);
}

/**
 * Reads at most `limit` bytes; a larger body is refused without buffering the rest. 'incomplete'
 * when the connection ends before the body does (a slow client cut by SLOW_CLIENT_LIMITS, or one
 * that hung up): an expected end, not an error of the gateway.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'incomplete'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      // A notification usually arrives in one chunk: that chunk is the body, not a copy of it.
      if (!over) resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks));
    });
    // A promise settles once: after 'end' or 'too-large' these change nothing.
    req.on('error', () => resolve('incomplete'));
    req.on('close', () => resolve('incomplete'));
  });
}

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * The client's address: the proxy's word for it only when the proxy is one we trust. Cut to
 * MAX_LOGGED_VALUE_CHARS (log-value.ts): it is logged here and by the core, which also stores it.
 */
export function clientIp(req: IncomingMessage, config: GatewayConfig): string {
  const peer = req.socket.remoteAddress ?? '';
  if (!config.trustedProxies.includes(peer)) return peer;
  const realIp = req.headers['x-real-ip'];
  if (typeof realIp === 'string' && realIp.trim() !== '') return logValue(realIp.trim());
  const xff = req.headers['x-forwarded-for'];
  const last =
    typeof xff === 'string'
      ? xff
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .pop()
      : undefined;
  return logValue(last ?? peer);
}
