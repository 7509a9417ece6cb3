import { ConfigError, EnvReader, type ListenAddress } from '../src/env-reader';
import type { LogLevel } from '../src/config';

/** The gateway's configuration, read once from the environment, validated and frozen. */
export interface GatewayConfig {
  readonly listen: ListenAddress;
  /** A grpc-js target: "127.0.0.1:50051", or "dns:///core-headless:50051" to balance over replicas. */
  readonly coreTarget: string;
  readonly notifyPath: string;
  /** Deadline for HandleNotify; well under WeChat's 5 s so a FAIL gets back in time. */
  readonly coreDeadlineMs: number;
  readonly bodyLimitBytes: number;
  /** Peers whose X-Real-IP / X-Forwarded-For are believed (the nginx or Envoy in front). */
  readonly trustedProxies: readonly string[];
  readonly logLevel: LogLevel;
  readonly shutdownGraceMs: number;
}

export const GATEWAY_ENV_VARS = Object.freeze([
  'GATEWAY_LISTEN', 'CORE_GRPC_TARGET', 'NOTIFY_PATH', 'CORE_DEADLINE_MS', 'BODY_LIMIT_BYTES',
  'TRUSTED_PROXIES', 'LOG_LEVEL', 'SHUTDOWN_GRACE_MS',
] as const);

export function readGatewayConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  const r = new EnvReader(env);
  const notifyPath = r.string('NOTIFY_PATH', '/wxpay/notify');
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(notifyPath)) r.problem(`NOTIFY_PATH=${notifyPath} must be a path such as /wxpay/notify`);
  const coreTarget = r.string('CORE_GRPC_TARGET', '127.0.0.1:50051');
  if (/\s/.test(coreTarget)) r.problem('CORE_GRPC_TARGET must not contain spaces');
  const config: GatewayConfig = {
    listen: r.listenAddress('GATEWAY_LISTEN', '127.0.0.1:8080'),
    coreTarget,
    notifyPath,
    coreDeadlineMs: r.integer('CORE_DEADLINE_MS', 3_000, 100, 4_500),
    bodyLimitBytes: r.integer('BODY_LIMIT_BYTES', 64 * 1024, 1_024, 1024 * 1024),
    trustedProxies: r.list('TRUSTED_PROXIES').length > 0 ? r.list('TRUSTED_PROXIES') : ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    shutdownGraceMs: r.integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return Object.freeze(config);
}
