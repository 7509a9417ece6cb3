import { readFileSync } from 'node:fs';
import { ConfigError, EnvReader, type ListenAddress } from '../src/env-reader';
import type { LogLevel } from '../src/config';

/** The gateway's configuration, read once from the environment, validated and frozen. */
export interface GatewayConfig {
  readonly listen: ListenAddress;
  /** A grpc-js target: "127.0.0.1:50051", or "dns:///core-headless:50051" to balance over replicas. */
  readonly coreTarget: string;
  readonly notifyPath: string;
  /** Where WeChat posts v2 refund notifications (the refund API's notify_url). */
  readonly refundNotifyPath: string;
  /** Where WeChat posts APIv3 notifications (payments and refunds). */
  readonly v3NotifyPath: string;
  /** Deadline for HandleNotify; well under WeChat's 5 s so a FAIL gets back in time. */
  readonly coreDeadlineMs: number;
  readonly bodyLimitBytes: number;
  /** Peers whose X-Real-IP / X-Forwarded-For are believed (the nginx or Envoy in front). */
  readonly trustedProxies: readonly string[];
  readonly logLevel: LogLevel;
  readonly shutdownGraceMs: number;
  /** Prometheus text at /metrics; undefined when GATEWAY_METRICS_LISTEN=off. */
  readonly metricsListen: ListenAddress | undefined;
  /** The bearer token the core knows the gateway by (scope "notify"); undefined when auth is off. */
  readonly coreToken: string | undefined;
  /** TLS to the core: the CA that signed its certificate, and our client certificate for mTLS. */
  readonly coreTls: { readonly caPem: string; readonly certPem?: string; readonly keyPem?: string } | undefined;
}

export const GATEWAY_ENV_VARS = Object.freeze([
  'GATEWAY_LISTEN',
  'CORE_GRPC_TARGET',
  'NOTIFY_PATH',
  'CORE_DEADLINE_MS',
  'BODY_LIMIT_BYTES',
  'TRUSTED_PROXIES',
  'LOG_LEVEL',
  'SHUTDOWN_GRACE_MS',
  'GATEWAY_METRICS_LISTEN',
  'CORE_TOKEN',
  'CORE_TOKEN_FILE',
  'CORE_TLS_CA_FILE',
  'CORE_TLS_CERT_FILE',
  'CORE_TLS_KEY_FILE',
  'REFUND_NOTIFY_PATH',
  'V3_NOTIFY_PATH',
] as const);

type ReadFile = (path: string) => string;

export function readGatewayConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile = (p) => readFileSync(p, 'utf8'),
): GatewayConfig {
  const r = new EnvReader(env);
  const read = (name: string): string | undefined => r.fileContent(name, readFile);
  const tokenInline = r.optional('CORE_TOKEN');
  const tokenFile = read('CORE_TOKEN_FILE')?.trim();
  if (tokenInline && tokenFile) r.problem('set CORE_TOKEN or CORE_TOKEN_FILE, not both');
  const coreToken = tokenInline ?? tokenFile;
  if (coreToken !== undefined && !/^[\x21-\x7e]{24,256}$/.test(coreToken)) {
    r.problem(`the core token must be 24 to 256 printable characters without spaces (it has ${coreToken.length})`);
  }
  const caPem = read('CORE_TLS_CA_FILE');
  const certPem = read('CORE_TLS_CERT_FILE');
  const keyPem = read('CORE_TLS_KEY_FILE');
  if ((certPem === undefined) !== (keyPem === undefined))
    r.problem('CORE_TLS_CERT_FILE and CORE_TLS_KEY_FILE go together');
  if (certPem !== undefined && caPem === undefined)
    r.problem('a client certificate needs CORE_TLS_CA_FILE to verify the core');
  const metricsRaw = r.string('GATEWAY_METRICS_LISTEN', '127.0.0.1:9465');
  const notifyPath = r.string('NOTIFY_PATH', '/wxpay/notify');
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(notifyPath))
    r.problem(`NOTIFY_PATH=${notifyPath} must be a path such as /wxpay/notify`);
  const refundNotifyPath = r.string('REFUND_NOTIFY_PATH', '/wxpay/refund/notify');
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(refundNotifyPath))
    r.problem(`REFUND_NOTIFY_PATH=${refundNotifyPath} must be a path such as /wxpay/refund/notify`);
  const v3NotifyPath = r.string('V3_NOTIFY_PATH', '/wxpay/v3/notify');
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(v3NotifyPath))
    r.problem(`V3_NOTIFY_PATH=${v3NotifyPath} must be a path such as /wxpay/v3/notify`);
  if (new Set([notifyPath, refundNotifyPath, v3NotifyPath, '/healthz']).size !== 4) {
    r.problem('NOTIFY_PATH, REFUND_NOTIFY_PATH and V3_NOTIFY_PATH must differ from each other and from /healthz');
  }
  const coreTarget = r.string('CORE_GRPC_TARGET', '127.0.0.1:50051');
  if (/\s/.test(coreTarget)) r.problem('CORE_GRPC_TARGET must not contain spaces');
  const config: GatewayConfig = {
    listen: r.listenAddress('GATEWAY_LISTEN', '127.0.0.1:8080'),
    coreTarget,
    notifyPath,
    refundNotifyPath,
    v3NotifyPath,
    coreDeadlineMs: r.integer('CORE_DEADLINE_MS', 3_000, 100, 4_500),
    // The core receives the fields and the raw body (about twice the body) within its 1 MiB limit.
    bodyLimitBytes: r.integer('BODY_LIMIT_BYTES', 64 * 1024, 1_024, 256 * 1024),
    trustedProxies:
      r.list('TRUSTED_PROXIES').length > 0 ? r.list('TRUSTED_PROXIES') : ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    shutdownGraceMs: r.integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    metricsListen: metricsRaw === 'off' ? undefined : r.listenAddress('GATEWAY_METRICS_LISTEN', '127.0.0.1:9465'),
    coreToken,
    coreTls: caPem === undefined ? undefined : { caPem, ...(certPem && keyPem ? { certPem, keyPem } : {}) },
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return Object.freeze(config);
}
