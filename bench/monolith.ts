// The MONOLITH baseline: one Node process that does the gateway's and the core's work without
// the gRPC hop. Same XML parser and reply format as the gateway, the same NotifyService (verify,
// parse, duplicate fast path, lock, one transaction) over the same PaymentStore (knex + pg), the
// same two log lines per request; only the lock is a plain Redis SET NX PX / DEL on one node
// instead of Redlock.
//
//   DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379 MERCHANTS_JSON='[...]' \
//   MONOLITH_LISTEN=127.0.0.1:0 node dist/bench/monolith.js
//   prints "monolith listening on <port>"

import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { clientIp } from '../gateway/gateway-server';
import { readGatewayConfig } from '../gateway/config';
import { parseNotifyXml } from '../gateway/parse-notify-xml';
import { replyXml } from '../gateway/reply';
import { readCoreConfig, type LockConfig } from '../src/config';
import { LockError, type OrderLock } from '../src/lock/order-lock';
import { createLogger } from '../src/logger';
import { CoreMetrics } from '../src/metrics';
import { merchantDirectory } from '../src/notify/merchant';
import { acknowledges, type NotifyOutcome } from '../src/notify/outcome';
import { NotifyService } from '../src/service/notify-service';
import { openDatabase } from '../src/store/database';
import { migrateToLatest } from '../src/store/migrate';
import { PaymentStore } from '../src/store/payment-store';

/** SET key token NX PX ttl to take, DEL to release; waits like Redlock (same delay and jitter). */
export class SetNxLock implements OrderLock {
  readonly description = 'redis SET NX PX (one node)';

  constructor(
    private readonly redis: Redis,
    private readonly config: LockConfig,
  ) {}

  async withLock<T>(key: string, routine: () => Promise<T>): Promise<T> {
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + this.config.waitMs;
    for (let attempt = 1; ; attempt++) {
      let reply: string | null;
      try {
        reply = await this.redis.set(key, token, 'PX', this.config.ttlMs, 'NX');
      } catch (e) {
        throw new LockError('LOCK_UNAVAILABLE', `order lock ${key}: ${e instanceof Error ? e.message : String(e)}`, {
          cause: e,
        });
      }
      if (reply === 'OK') break;
      const delay = this.config.retryDelayMs + Math.floor(Math.random() * Math.max(1, this.config.retryDelayMs / 2));
      if (Date.now() + delay > deadline)
        throw new LockError('LOCK_BUSY', `order lock ${key} still held after ${attempt} attempts`);
      await new Promise((r) => setTimeout(r, delay));
    }
    try {
      return await routine();
    } finally {
      // As the brief for this baseline says: a plain DEL (a compare-and-delete script would cost
      // the same one round trip).
      this.redis.del(key).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

/** As gateway/reply.ts maps them; an outcome added later answers 200 when acknowledged, else 502. */
const STATUS: Readonly<Partial<Record<NotifyOutcome, number>>> = {
  PAID: 200,
  DUPLICATE: 200,
  CONFLICTING_PAYMENT: 200,
  PAYMENT_FAILED: 200,
  REJECTED: 401,
  ORDER_MISMATCH: 409,
  ORDER_NOT_FOUND: 404,
  RETRY_LATER: 503,
  MALFORMED: 400,
};

async function main(): Promise<void> {
  const env = process.env;
  const redisUrl = env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const config = readCoreConfig({ ...env, REDIS_URLS: redisUrl, METRICS_LISTEN: 'off' });
  const gatewayConfig = readGatewayConfig({});
  const log = createLogger('payment-callback-monolith', config.logLevel);
  const db = openDatabase(config.database, log);
  await migrateToLatest(db);
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
  });
  redis.on('error', () => undefined);
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  const lock = new SetNxLock(redis, config.lock);
  const notify = new NotifyService({
    merchants: merchantDirectory(config.merchants),
    lock,
    store: new PaymentStore(db, () => new Date()),
    metrics: new CoreMetrics(),
  });

  const server = createServer((req, res) => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const reqLog = log.child({ request_id: requestId });
    const started = process.hrtime.bigint();
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'application/xml; charset=utf-8' });
      res.end(body);
      reqLog.info(
        {
          method: req.method,
          path: req.url,
          status,
          client_ip: clientIp(req, gatewayConfig),
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/wxpay/notify') {
      req.resume();
      send(404, replyXml(false, 'no such path'));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const parsed = parseNotifyXml(body);
      if (!parsed.ok) {
        send(400, replyXml(false, parsed.message));
        return;
      }
      notify
        .handle(
          {
            fields: parsed.fields,
            rawBody: body.toString('utf8'),
            clientIp: clientIp(req, gatewayConfig),
            requestId,
            receivedAt: new Date(),
          },
          reqLog,
        )
        .then(
          (r) => {
            const ack = acknowledges(r.outcome);
            send(STATUS[r.outcome] ?? (ack ? 200 : 502), replyXml(ack, ack ? 'OK' : `${r.code}: ${r.message}`));
          },
          (e: unknown) => {
            reqLog.error({ err: e }, 'unexpected error');
            send(500, replyXml(false, 'internal error; retry later'));
          },
        );
    });
  });
  server.keepAliveTimeout = 75_000;
  const [host, portText] = (env['MONOLITH_LISTEN'] ?? '127.0.0.1:0').split(':');
  await new Promise<void>((resolve) => server.listen(Number(portText), host, () => resolve()));
  process.stdout.write(`monolith listening on ${(server.address() as AddressInfo).port}\n`);
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void Promise.allSettled([lock.close(), db.destroy()]).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

void main().catch((e: unknown) => {
  process.stderr.write(`monolith: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
