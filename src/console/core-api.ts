import { randomUUID } from 'node:crypto';
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  status,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import {
  PaymentCallbackClient,
  type Anomaly,
  type GetOrderResponse,
  type ListAnomaliesRequest,
  type ListAnomaliesResponse,
  type ListNotificationsRequest,
  type ListNotificationsResponse,
  type PaymentEvent,
  type ResolveAnomalyResponse,
  type WatchPaymentEventsRequest,
} from '../gen/payment/callback/v1/payment_callback';
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { ConsoleConfig } from './config';

/** A failed call to the core, with the gRPC code the pages map to an HTTP status once. */
export class CoreCallError extends Error {
  constructor(
    readonly code: status,
    readonly details: string,
    readonly method: string,
  ) {
    super(`${method}: ${status[code] ?? code}: ${details}`);
    this.name = 'CoreCallError';
  }
}

export interface HealthReport {
  readonly reachable: boolean;
  /** grpc.health.v1 status of the whole server ("") and of the payment API. */
  readonly server: string;
  readonly paymentApi: string;
  readonly ms: number;
  readonly error: string | undefined;
}

/**
 * The console's view of the core: the generated client plus the console's own token on every
 * call, a request id the core logs, and a deadline. The only way the console reaches data.
 */
export interface CoreApi {
  getOrder(mchId: string, outTradeNo: string, requestId?: string): Promise<GetOrderResponse>;
  listNotifications(req: Partial<ListNotificationsRequest>, requestId?: string): Promise<ListNotificationsResponse>;
  listAnomalies(req: Partial<ListAnomaliesRequest>, requestId?: string): Promise<ListAnomaliesResponse>;
  resolveAnomaly(id: string, note: string, requestId?: string): Promise<ResolveAnomalyResponse>;
  watch(req: Partial<WatchPaymentEventsRequest>): ClientReadableStream<PaymentEvent>;
  health(): Promise<HealthReport>;
  close(): void;
}

const DEADLINE_MS = 5_000;

type HealthClient = Client & {
  check(
    req: { service: string },
    md: Metadata,
    opts: { deadline: number },
    cb: (err: ServiceError | null, res?: { status: string }) => void,
  ): void;
};

export function createCoreApi(config: Pick<ConsoleConfig, 'coreTarget' | 'coreToken' | 'coreTls'>): CoreApi {
  const tls = config.coreTls;
  const channelCredentials = () =>
    tls
      ? credentials.createSsl(
          Buffer.from(tls.caPem),
          tls.keyPem ? Buffer.from(tls.keyPem) : null,
          tls.certPem ? Buffer.from(tls.certPem) : null,
        )
      : credentials.createInsecure();
  const options = {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    'grpc.keepalive_time_ms': 30_000,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5_000,
  };
  const client = new PaymentCallbackClient(config.coreTarget, channelCredentials(), options);
  const HealthClientCtor = makeGenericClientConstructor(healthService, 'Health');
  const healthClient = new HealthClientCtor(
    config.coreTarget,
    channelCredentials(),
    options,
  ) as unknown as HealthClient;

  const metadata = (requestId: string | undefined): Metadata => {
    const m = new Metadata();
    m.set('x-request-id', requestId ?? `console-${randomUUID()}`);
    // Metadata rather than call credentials, which grpc-js only allows over TLS.
    if (config.coreToken) m.set('authorization', `Bearer ${config.coreToken}`);
    return m;
  };
  const unary = <T>(
    method: string,
    requestId: string | undefined,
    invoke: (md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: T) => void) => void,
  ): Promise<T> =>
    new Promise((resolve, reject) => {
      invoke(metadata(requestId), { deadline: Date.now() + DEADLINE_MS }, (err, res) => {
        if (err) reject(new CoreCallError(err.code, err.details, method));
        else if (res === undefined) reject(new CoreCallError(status.INTERNAL, 'empty response', method));
        else resolve(res);
      });
    });

  const checkOne = (service: string): Promise<string> =>
    new Promise((resolve, reject) => {
      healthClient.check({ service }, metadata(undefined), { deadline: Date.now() + 2_000 }, (err, res) => {
        if (err) reject(new CoreCallError(err.code, err.details, 'Health/Check'));
        else resolve(res?.status ?? 'UNKNOWN');
      });
    });

  return {
    getOrder: (mchId, outTradeNo, rid) =>
      unary('GetOrder', rid, (md, o, cb) => client.getOrder({ mchId, outTradeNo }, md, o, cb)),
    listNotifications: (req, rid) =>
      unary('ListNotifications', rid, (md, o, cb) =>
        client.listNotifications({ mchId: '', outTradeNo: '', pageSize: 0, pageToken: '', ...req }, md, o, cb),
      ),
    listAnomalies: (req, rid) =>
      unary('ListAnomalies', rid, (md, o, cb) =>
        client.listAnomalies({ mchId: '', includeResolved: false, pageSize: 0, pageToken: '', ...req }, md, o, cb),
      ),
    resolveAnomaly: (id, note, rid) =>
      unary('ResolveAnomaly', rid, (md, o, cb) => client.resolveAnomaly({ id, note }, md, o, cb)),
    watch: (req) =>
      client.watchPaymentEvents({ afterCursor: '', mchIds: [], fromNow: false, ...req }, metadata(undefined)),
    health: async () => {
      const started = Date.now();
      try {
        const [server, paymentApi] = await Promise.all([checkOne(''), checkOne('payment.callback.v1.PaymentCallback')]);
        return { reachable: true, server, paymentApi, ms: Date.now() - started, error: undefined };
      } catch (e) {
        const message = e instanceof CoreCallError ? `${status[e.code] ?? e.code}: ${e.details}` : String(e);
        return { reachable: false, server: 'UNKNOWN', paymentApi: 'UNKNOWN', ms: Date.now() - started, error: message };
      }
    },
    close: () => {
      client.close();
      healthClient.close();
    },
  };
}

/** Every anomaly of a merchant (or all), newest first, up to `max`; `truncated` when there were more. */
export async function allAnomalies(
  api: CoreApi,
  mchId: string,
  max = 2_000,
): Promise<{ anomalies: Anomaly[]; truncated: boolean }> {
  const anomalies: Anomaly[] = [];
  let pageToken = '';
  do {
    const page = await api.listAnomalies({ mchId, includeResolved: true, pageSize: 500, pageToken });
    anomalies.push(...page.anomalies);
    pageToken = page.nextPageToken;
  } while (pageToken !== '' && anomalies.length < max);
  return { anomalies, truncated: pageToken !== '' };
}
