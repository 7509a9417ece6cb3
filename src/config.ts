import { readFileSync } from 'node:fs';
import { ConfigError, EnvReader, type ListenAddress } from './env-reader';
import { isScope, SCOPES, type Caller, type Scope } from './auth/scopes';
import type { Merchant } from './notify/merchant';
import { isSignType, SIGN_TYPES, type SignType } from './notify/sign';
import { v3PlatformKeys } from './notify/v3/platform-keys';

/**
 * The core's configuration, read once at start-up from the environment (and the merchants file
 * it names), validated with every problem reported at once, then frozen and passed to
 * constructors. Nothing else reads process.env.
 */
export interface CoreConfig {
  readonly env: 'development' | 'production';
  readonly grpcListen: ListenAddress;
  /** Prometheus text on http://host:port/metrics; undefined when METRICS_LISTEN=off. */
  readonly metricsListen: ListenAddress | undefined;
  readonly database: DatabaseConfig;
  /** Independent Redis nodes for Redlock; empty means the in-process lock (one replica only). */
  readonly redisUrls: readonly string[];
  readonly lock: LockConfig;
  readonly merchants: readonly Merchant[];
  readonly logLevel: LogLevel;
  /** How long shutdown waits for in-flight calls before cancelling them. */
  readonly shutdownGraceMs: number;
  /** Services allowed to call; empty means authentication is off (refused in production). */
  readonly callers: readonly Caller[];
  /** gRPC services reachable without a token (health and reflection for operators by default). */
  readonly publicServices: readonly string[];
  /** TLS for the gRPC port; with clientCaPem, clients must present a certificate (mTLS). */
  readonly tls: TlsConfig | undefined;
  readonly events: { readonly pollMs: number; readonly batchSize: number };
  /** Re-read the merchants (and their key files) this often; 0: only on SIGHUP. */
  readonly merchantsReloadIntervalMs: number;
  /** Querying WeChat about orders whose notification never came (README "Reconciliation"). */
  readonly reconcile: ReconcileConfig;
}

export interface TlsConfig {
  readonly certPem: string;
  readonly keyPem: string;
  readonly clientCaPem: string | undefined;
}

const DEFAULT_PUBLIC_SERVICES = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface DatabaseConfig {
  readonly client: 'better-sqlite3' | 'pg' | 'mysql2';
  /** The URL with any password replaced by "***", for logs. */
  readonly redactedUrl: string;
  /** A connection URL for pg/mysql2, or the SQLite file name. */
  readonly connection: string;
  readonly poolMax: number;
}

export interface LockConfig {
  /** How long a lock lives if its holder dies; well above the time a notification takes. */
  readonly ttlMs: number;
  /** How long to wait for a busy lock before answering FAIL so WeChat retries. */
  readonly waitMs: number;
  /** Pause between attempts while waiting (Redlock adds jitter). */
  readonly retryDelayMs: number;
}

/** The merchant in WeChat Pay's documentation example: good for trying things, never for money. */
export const DEMO_MERCHANT = Object.freeze({
  mchId: '10000100',
  appid: 'wxd930ea5d5a258f4f',
  apiKey: '192006250b4c09247ec02edce69f6a2d',
});

export const DEFAULTS = Object.freeze({
  GRPC_LISTEN: '127.0.0.1:50051',
  METRICS_LISTEN: '127.0.0.1:9464',
  DATABASE_URL: 'sqlite:data/payment-callback.sqlite',
});

/** Reconciliation's settings (readReconcile below). */
const RECONCILE_ENV_VARS = [
  'RECONCILE_ENABLED', 'WECHATPAY_API_BASE', 'RECONCILE_AFTER_MS', 'RECONCILE_BACKOFF_MS', 'RECONCILE_BACKOFF_MAX_MS',
  'RECONCILE_GIVE_UP_MS', 'RECONCILE_MAX_QPS', 'RECONCILE_SWEEP_INTERVAL_MS', 'RECONCILE_LEASE_MS',
  'RECONCILE_BATCH_SIZE', 'RECONCILE_TIMEOUT_MS',
] as const;

/** The environment variables the core reads; the k8s ConfigMap test checks against this list. */
export const CORE_ENV_VARS = Object.freeze([
  'PAYMENT_CALLBACK_ENV', 'GRPC_LISTEN', 'METRICS_LISTEN', 'DATABASE_URL', 'DATABASE_POOL_MAX',
  'REDIS_URLS', 'LOCK_TTL_MS', 'LOCK_WAIT_MS', 'LOCK_RETRY_DELAY_MS', 'MERCHANTS_FILE', 'MERCHANTS_JSON',
  'LOG_LEVEL', 'SHUTDOWN_GRACE_MS', 'CALLERS_FILE', 'CALLERS_JSON', 'AUTH_PUBLIC_SERVICES',
  'GRPC_TLS_CERT_FILE', 'GRPC_TLS_KEY_FILE', 'GRPC_TLS_CLIENT_CA_FILE', 'EVENTS_POLL_MS', 'EVENTS_BATCH_SIZE',
  'AUTH_DISABLED',
  'MERCHANTS_RELOAD_INTERVAL_MS',
  ...RECONCILE_ENV_VARS,
] as const);

type ReadFile = (path: string) => string;

export function readCoreConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile = (p) => readFileSync(p, 'utf8'),
  /** Certificates already expired at `now` are refused. */
  now: Date = new Date(),
): CoreConfig {
  const r = new EnvReader(env);
  const mode = r.oneOf('PAYMENT_CALLBACK_ENV', ['development', 'production'] as const, 'development');
  const metricsRaw = r.string('METRICS_LISTEN', DEFAULTS.METRICS_LISTEN);
  const config: CoreConfig = {
    env: mode,
    grpcListen: r.listenAddress('GRPC_LISTEN', DEFAULTS.GRPC_LISTEN),
    metricsListen: metricsRaw === 'off' ? undefined : r.listenAddress('METRICS_LISTEN', DEFAULTS.METRICS_LISTEN),
    database: readDatabase(r),
    redisUrls: readRedisUrls(r),
    lock: {
      ttlMs: r.integer('LOCK_TTL_MS', 10_000, 1_000, 600_000),
      waitMs: r.integer('LOCK_WAIT_MS', 2_000, 0, 60_000),
      retryDelayMs: r.integer('LOCK_RETRY_DELAY_MS', 25, 1, 10_000),
    },
    merchants: readMerchants(r, env, readFile, mode, now),
    merchantsReloadIntervalMs: readReloadInterval(r),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    shutdownGraceMs: r.integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    callers: readCallers(r, env, readFile),
    publicServices: readPublicServices(r),
    tls: readTls(r, readFile),
    events: {
      pollMs: r.integer('EVENTS_POLL_MS', 500, 10, 60_000),
      batchSize: r.integer('EVENTS_BATCH_SIZE', 100, 1, 1_000),
    },
    reconcile: readReconcile(r, mode),
  };
  const authDisabled = r.oneOf('AUTH_DISABLED', ['true', 'false'] as const, 'false') === 'true';
  if (config.callers.length === 0 && mode === 'production') {
    r.problem('PAYMENT_CALLBACK_ENV=production needs CALLERS_FILE or CALLERS_JSON: without callers anyone who reaches the gRPC port could mark orders paid');
  } else if (config.callers.length === 0 && !authDisabled) {
    r.problem('no callers configured: set CALLERS_FILE or CALLERS_JSON, or AUTH_DISABLED=true to trust every gRPC caller (local development only)');
  }
  if (config.lock.waitMs >= config.lock.ttlMs) {
    r.problem(`LOCK_WAIT_MS (${config.lock.waitMs}) must be below LOCK_TTL_MS (${config.lock.ttlMs})`);
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

/** Only the database settings: what `make migrate` needs, without merchants. */
export function readDatabaseConfig(env: Readonly<Record<string, string | undefined>>): DatabaseConfig {
  const r = new EnvReader(env);
  const database = readDatabase(r);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return database;
}

function readDatabase(r: EnvReader): DatabaseConfig {
  const url = r.string('DATABASE_URL', DEFAULTS.DATABASE_URL);
  const poolMax = r.integer('DATABASE_POOL_MAX', 10, 1, 1000);
  const redactedUrl = redactPassword(url);
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '') r.problem('DATABASE_URL=sqlite: needs a file name, e.g. sqlite:data/payment-callback.sqlite');
    return { client: 'better-sqlite3', connection: file, redactedUrl, poolMax: 1 };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { client: 'pg', connection: url, redactedUrl, poolMax };
  if (/^(mysql|mariadb):\/\//.test(url)) {
    return { client: 'mysql2', connection: url.replace(/^mariadb:/, 'mysql:'), redactedUrl, poolMax };
  }
  r.problem(`DATABASE_URL=${redactedUrl} must start with sqlite:, postgres:// or mysql://`);
  return { client: 'better-sqlite3', connection: '', redactedUrl, poolMax };
}

/**
 * postgres://pay:p@ss@db/pay => postgres://pay:***@db/pay (the last @ ends the password), and
 * ?password=... or ?sslpassword=... in the query string likewise.
 */
export function redactPassword(url: string): string {
  return url
    .replace(/^([a-z0-9+.-]+:\/\/[^:@/]*):.*@/i, '$1:***@')
    .replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
}

/** Only operator services may be opened without a token, never the payment API. */
const OPENABLE_SERVICES = new Set(DEFAULT_PUBLIC_SERVICES);

function readPublicServices(r: EnvReader): string[] {
  if (r.optional('AUTH_PUBLIC_SERVICES') === 'none') return [];
  const listed = r.list('AUTH_PUBLIC_SERVICES');
  for (const name of listed) {
    if (!OPENABLE_SERVICES.has(name)) {
      r.problem(`AUTH_PUBLIC_SERVICES may list only ${[...OPENABLE_SERVICES].join(', ')} (or be "none"); ${name} always needs a token`);
    }
  }
  return listed.length > 0 ? listed.filter((n) => OPENABLE_SERVICES.has(n)) : [...DEFAULT_PUBLIC_SERVICES];
}

function readCallers(r: EnvReader, env: Readonly<Record<string, string | undefined>>, readFile: ReadFile): Caller[] {
  const callers: Caller[] = [];
  for (const { where, entry } of readJsonList(r, 'CALLERS_FILE', 'CALLERS_JSON', 'callers', readFile) ?? []) {
    if (!isRecord(entry)) {
      r.problem(`${where} must be an object`);
      continue;
    }
    const before = r.problems.length;
    const name = entry['name'];
    if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) r.problem(`${where}: name must be 1 to 64 of letters, digits and ._-`);
    const token = readSecret(r, where, entry, env, readFile, {
      field: 'token',
      pattern: /^[\x21-\x7e]{24,256}$/,
      shape: 'the token must be 24 to 256 printable characters without spaces',
    });
    const scopesRaw = entry['scopes'];
    const scopes: Scope[] = [];
    if (!Array.isArray(scopesRaw) || scopesRaw.length === 0) {
      r.problem(`${where}: scopes must be a non-empty array of ${Object.keys(SCOPES).join(', ')}`);
    } else {
      for (const s of scopesRaw) {
        if (typeof s === 'string' && isScope(s)) scopes.push(s);
        else r.problem(`${where}: scope ${JSON.stringify(s)} must be one of ${Object.keys(SCOPES).join(', ')}`);
      }
    }
    if (r.problems.length === before && token !== undefined) callers.push({ name: name as string, token, scopes });
  }
  const names = callers.map((c) => c.name);
  if (new Set(names).size !== names.length) r.problem('two callers have the same name');
  if (new Set(callers.map((c) => c.token)).size !== callers.length) r.problem('two callers share a token; give each service its own');
  return callers;
}

function readTls(r: EnvReader, readFile: ReadFile): TlsConfig | undefined {
  const certFile = r.optional('GRPC_TLS_CERT_FILE');
  const keyFile = r.optional('GRPC_TLS_KEY_FILE');
  const caFile = r.optional('GRPC_TLS_CLIENT_CA_FILE');
  if (!certFile && !keyFile && !caFile) return undefined;
  if (!certFile || !keyFile) {
    r.problem('GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE go together (GRPC_TLS_CLIENT_CA_FILE adds client certificates)');
    return undefined;
  }
  const read = (name: string, file: string): string => {
    try {
      return readFile(file);
    } catch {
      r.problem(`${name} ${file} cannot be read`);
      return '';
    }
  };
  return {
    certPem: read('GRPC_TLS_CERT_FILE', certFile),
    keyPem: read('GRPC_TLS_KEY_FILE', keyFile),
    clientCaPem: caFile ? read('GRPC_TLS_CLIENT_CA_FILE', caFile) : undefined,
  };
}

function readRedisUrls(r: EnvReader): string[] {
  const urls = r.list('REDIS_URLS');
  for (const u of urls) {
    if (!/^rediss?:\/\/[^\s]+$/.test(u)) r.problem(`REDIS_URLS entry ${redactPassword(u)} must be redis://host:port`);
  }
  if (new Set(urls).size !== urls.length) r.problem('REDIS_URLS lists the same node twice; Redlock needs independent nodes');
  return urls;
}

/**
 * Reconciliation (src/reconcile/): NOTPAY orders are queried at WeChat with orderquery once they
 * are RECONCILE_AFTER_MS old, then after a doubling backoff, until RECONCILE_GIVE_UP_MS.
 */
export interface ReconcileConfig {
  /** Off unless RECONCILE_ENABLED=true: it calls WeChat over the network. */
  readonly enabled: boolean;
  /** WeChat Pay's API, e.g. https://api.mch.weixin.qq.com (no trailing slash). */
  readonly apiBase: string;
  /** Age of a NOTPAY order before its first query. */
  readonly afterMs: number;
  /** Pause after the first query; it doubles after each further one, up to backoffMaxMs. */
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
  /** Order age after which no further query is scheduled. */
  readonly giveUpMs: number;
  /** Queries per second to WeChat, across the replica that sweeps (bursts of one second's worth). */
  readonly maxQps: number;
  readonly sweepIntervalMs: number;
  /** How long the sweeping replica's lease lasts without renewal. */
  readonly leaseMs: number;
  /** Orders taken per sweep. */
  readonly batchSize: number;
  /** One orderquery call, connect to last byte. */
  readonly timeoutMs: number;
}

const WECHATPAY_API_BASE = 'https://api.mch.weixin.qq.com';

function readReconcile(r: EnvReader, mode: CoreConfig['env']): ReconcileConfig {
  const config: ReconcileConfig = {
    enabled: r.oneOf('RECONCILE_ENABLED', ['true', 'false'] as const, 'false') === 'true',
    apiBase: r.string('WECHATPAY_API_BASE', WECHATPAY_API_BASE).replace(/\/+$/, ''),
    afterMs: r.integer('RECONCILE_AFTER_MS', 5 * 60_000, 0, 7 * 86_400_000),
    backoffMs: r.integer('RECONCILE_BACKOFF_MS', 5 * 60_000, 1_000, 86_400_000),
    backoffMaxMs: r.integer('RECONCILE_BACKOFF_MAX_MS', 60 * 60_000, 1_000, 7 * 86_400_000),
    giveUpMs: r.integer('RECONCILE_GIVE_UP_MS', 86_400_000, 60_000, 30 * 86_400_000),
    maxQps: r.integer('RECONCILE_MAX_QPS', 5, 1, 1_000),
    sweepIntervalMs: r.integer('RECONCILE_SWEEP_INTERVAL_MS', 30_000, 10, 3_600_000),
    leaseMs: r.integer('RECONCILE_LEASE_MS', 90_000, 1_000, 3_600_000),
    batchSize: r.integer('RECONCILE_BATCH_SIZE', 200, 1, 10_000),
    timeoutMs: r.integer('RECONCILE_TIMEOUT_MS', 5_000, 100, 60_000),
  };
  let url: URL | undefined;
  try {
    url = new URL(config.apiBase);
  } catch {
    r.problem(`WECHATPAY_API_BASE=${config.apiBase} is not a URL; it is ${WECHATPAY_API_BASE} unless you test against a stand-in`);
  }
  const loopback = url !== undefined && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  if (url && (url.search !== '' || url.hash !== '' || url.username !== '' || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)))) {
    r.problem(`WECHATPAY_API_BASE=${config.apiBase} must be an https:// base URL (http:// only for a loopback stand-in), without query or credentials`);
  }
  if (url && mode === 'production' && url.protocol !== 'https:') r.problem('PAYMENT_CALLBACK_ENV=production needs an https:// WECHATPAY_API_BASE');
  if (config.backoffMaxMs < config.backoffMs) {
    r.problem(`RECONCILE_BACKOFF_MAX_MS (${config.backoffMaxMs}) must be at least RECONCILE_BACKOFF_MS (${config.backoffMs})`);
  }
  if (config.giveUpMs <= config.afterMs) {
    r.problem(`RECONCILE_GIVE_UP_MS (${config.giveUpMs}) must be above RECONCILE_AFTER_MS (${config.afterMs}), or no order is ever queried`);
  }
  // Renewed at every sweep and halfway through long ones: two missed renewals before another
  // replica may take over, and a query always ends well inside the lease.
  if (config.leaseMs < 2 * config.sweepIntervalMs || config.leaseMs < 2 * config.timeoutMs) {
    r.problem(`RECONCILE_LEASE_MS (${config.leaseMs}) must be at least twice RECONCILE_SWEEP_INTERVAL_MS (${config.sweepIntervalMs}) and twice RECONCILE_TIMEOUT_MS (${config.timeoutMs})`);
  }
  return config;
}

/**
 * Only the merchants, as start-up reads them: what a reload (SIGHUP, MERCHANTS_RELOAD_INTERVAL_MS)
 * re-reads from MERCHANTS_FILE / MERCHANTS_JSON and the key files they name. Throws a ConfigError
 * listing every problem; the caller keeps the merchants it has.
 */
export function readMerchantsConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile = (p) => readFileSync(p, 'utf8'),
  now: Date = new Date(),
): readonly Merchant[] {
  const r = new EnvReader(env);
  const mode = r.oneOf('PAYMENT_CALLBACK_ENV', ['development', 'production'] as const, 'development');
  const merchants = readMerchants(r, env, readFile, mode, now);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(merchants);
}

function readReloadInterval(r: EnvReader): number {
  const ms = r.integer('MERCHANTS_RELOAD_INTERVAL_MS', 0, 0, 86_400_000);
  if (ms > 0 && ms < 1_000) r.problem(`MERCHANTS_RELOAD_INTERVAL_MS=${ms} must be 0 (off) or at least 1000`);
  return ms;
}

function readMerchants(
  r: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  mode: CoreConfig['env'],
  now: Date,
): Merchant[] {
  const entries = readJsonList(r, 'MERCHANTS_FILE', 'MERCHANTS_JSON', 'merchants', readFile);
  if (entries === undefined) {
    r.problem('no merchants configured: set MERCHANTS_FILE or MERCHANTS_JSON (see README "Configuration")');
  }
  const merchants: Merchant[] = [];
  for (const { where, entry } of entries ?? []) {
    const m = readMerchant(r, where, entry, env, readFile, mode, now);
    if (m) merchants.push(m);
  }

  const seen = new Set<string>();
  for (const m of merchants) {
    if (seen.has(m.mchId)) r.problem(`mch_id ${m.mchId} is configured twice`);
    seen.add(m.mchId);
    if (mode === 'production' && m.apiKey === DEMO_MERCHANT.apiKey) {
      r.problem(`mch_id ${m.mchId} uses the public demo API key from WeChat's documentation; `
        + 'it cannot be used with PAYMENT_CALLBACK_ENV=production');
    }
  }
  // An order's mch_id must name one merchant configuration, or its notifications could be
  // authenticated with two different keys.
  const providerOf = new Map<string, string>();
  for (const m of merchants) {
    for (const sub of m.subMchIds ?? []) {
      if (seen.has(sub)) r.problem(`sub_mch_id ${sub} of mch_id ${m.mchId} is also configured as a merchant of its own`);
      const other = providerOf.get(sub);
      if (other !== undefined) r.problem(`sub_mch_id ${sub} is listed by both mch_id ${other} and mch_id ${m.mchId}`);
      providerOf.set(sub, m.mchId);
    }
  }
  return merchants;
}

function readMerchant(
  r: EnvReader,
  where: string,
  entry: unknown,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  mode: CoreConfig['env'],
  now: Date,
): Merchant | undefined {
  if (!isRecord(entry)) {
    r.problem(`${where} must be an object`);
    return undefined;
  }
  const before = r.problems.length;
  const mchId = entry['mch_id'];
  if (typeof mchId !== 'string' || !/^\d{1,32}$/.test(mchId)) r.problem(`${where}: mch_id must be a string of digits`);
  const appids = entry['appids'];
  if (!Array.isArray(appids) || appids.length === 0 || !appids.every((a) => typeof a === 'string' && /^[A-Za-z0-9_]{1,32}$/.test(a))) {
    r.problem(`${where}: appids must be a non-empty array of app ids such as "wxd930ea5d5a258f4f"`);
  }
  const apiKey = readSecret(r, where, entry, env, readFile);
  const signTypesRaw = entry['sign_types'] ?? ['MD5', 'HMAC-SHA256'];
  const signTypes: SignType[] = [];
  if (!Array.isArray(signTypesRaw) || signTypesRaw.length === 0) {
    r.problem(`${where}: sign_types must be a non-empty array of ${SIGN_TYPES.join(', ')}`);
  } else {
    for (const t of signTypesRaw) {
      if (typeof t === 'string' && isSignType(t)) signTypes.push(t);
      else r.problem(`${where}: sign_types entry ${JSON.stringify(t)} must be one of ${SIGN_TYPES.join(', ')}`);
    }
  }
  const previousApiKey = readPreviousApiKey(r, where, entry, env, readFile, apiKey);
  const v3 = readV3(r, where, entry, env, readFile, mode, now);
  const subMchIds = readSubMchIds(r, where, entry, typeof mchId === 'string' ? mchId : '');
  const confirmRefunds = entry['confirm_refunds_with_query'] ?? false;
  if (typeof confirmRefunds !== 'boolean') r.problem(`${where}: confirm_refunds_with_query must be true or false (a JSON boolean)`);
  if (r.problems.length > before || apiKey === undefined) return undefined;
  // Optional settings are left out when absent, so a v2-only merchant reads as it always did.
  return {
    mchId: mchId as string,
    appids: appids as string[],
    apiKey,
    signTypes,
    ...(previousApiKey ? { previousApiKey } : {}),
    ...(v3 ? { apiV3Key: v3.apiV3Key, v3Keys: v3.keys } : {}),
    ...(subMchIds ? { subMchIds } : {}),
    ...(confirmRefunds === true ? { confirmRefundsWithQuery: true } : {}),
  };
}

const V2_KEY_RULE = { field: 'api_key', pattern: /^[A-Za-z0-9]{32}$/, shape: 'the API key must be 32 letters or digits' } as const;
/** An offset is required: a rotation deadline in "local time" depends on the server's zone. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Key rotation: the old v2 key and the instant after which it no longer verifies. */
function readPreviousApiKey(
  r: EnvReader,
  where: string,
  entry: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  apiKey: string | undefined,
): Merchant['previousApiKey'] | undefined {
  const rule = { ...V2_KEY_RULE, field: 'previous_api_key', shape: 'the previous API key must be 32 letters or digits' };
  const key = readOptionalSecret(r, where, entry, env, readFile, rule);
  const until = entry['previous_api_key_valid_until'];
  if (key === undefined && until === undefined) return undefined;
  if (key === undefined || until === undefined) {
    if (!hasSecret(entry, 'previous_api_key') || until === undefined) {
      r.problem(`${where}: previous_api_key (or _env, _file) and previous_api_key_valid_until go together`);
    }
    return undefined;
  }
  const validUntil = typeof until === 'string' && ISO_INSTANT.test(until) ? new Date(until) : undefined;
  if (!validUntil || Number.isNaN(validUntil.getTime())) {
    r.problem(`${where}: previous_api_key_valid_until must be an ISO 8601 time with an offset, e.g. "2026-03-01T00:00:00+08:00"`);
    return undefined;
  }
  if (key === apiKey) r.problem(`${where}: previous_api_key is the same as the current key; remove it, or set the new key as api_key`);
  return { key, validUntil };
}

/** APIv3: the key that decrypts resources and the keys that verify signatures, or neither. */
function readV3(
  r: EnvReader,
  where: string,
  entry: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  mode: CoreConfig['env'],
  now: Date,
): { apiV3Key: string; keys: NonNullable<Merchant['v3Keys']> } | undefined {
  // AES-256: 32 bytes. WeChat's own public test vector (wechatpay-go) uses a 16-byte key, which
  // development accepts so the vector can be replayed through the real service.
  const lengths = mode === 'production' ? '32' : '32 (16 in development, for the public test vector)';
  const apiV3Key = readOptionalSecret(r, where, entry, env, readFile, {
    field: 'apiv3_key',
    pattern: mode === 'production' ? /^[\x21-\x7e]{32}$/ : /^(?:[\x21-\x7e]{32}|[\x21-\x7e]{16})$/,
    shape: `the APIv3 key must be ${lengths} printable ASCII characters`,
  });
  const certificates: string[] = [];
  const certsRaw = entry['platform_certificates'];
  if (certsRaw !== undefined) {
    if (!Array.isArray(certsRaw) || !certsRaw.every((c) => typeof c === 'string' && c !== '')) {
      r.problem(`${where}: platform_certificates must be an array of PEM file paths or inline PEM certificates`);
    } else {
      for (const [i, c] of (certsRaw as string[]).entries()) {
        const pem = readPem(r, `${where}: platform_certificates[${i}]`, c, readFile);
        if (pem !== undefined) certificates.push(pem);
      }
    }
  }
  const publicKeys: Array<{ id: string; pem: string }> = [];
  const keysRaw = entry['wechatpay_public_keys'];
  if (keysRaw !== undefined) {
    if (!Array.isArray(keysRaw)) {
      r.problem(`${where}: wechatpay_public_keys must be an array of {"id": "PUB_KEY_ID_...", "pem" or "pem_file": ...}`);
    } else {
      for (const [i, k] of (keysRaw as unknown[]).entries()) {
        const at = `${where}: wechatpay_public_keys[${i}]`;
        if (!isRecord(k) || typeof k['id'] !== 'string' || (k['pem'] === undefined) === (k['pem_file'] === undefined)) {
          r.problem(`${at} must be {"id": "PUB_KEY_ID_...", and exactly one of "pem", "pem_file"}`);
          continue;
        }
        const given = k['pem'] ?? k['pem_file'];
        if (typeof given !== 'string') {
          r.problem(`${at}: pem and pem_file must be strings`);
          continue;
        }
        const pem = k['pem'] !== undefined ? given : readPem(r, at, given, readFile);
        if (pem !== undefined) publicKeys.push({ id: k['id'], pem });
      }
    }
  }
  const anyKeys = certsRaw !== undefined || keysRaw !== undefined;
  if (apiV3Key === undefined && !anyKeys) return undefined;
  if (apiV3Key === undefined) {
    if (!hasSecret(entry, 'apiv3_key')) r.problem(`${where}: platform_certificates / wechatpay_public_keys need apiv3_key (or _env, _file) to decrypt APIv3 notifications`);
    return undefined;
  }
  if (!anyKeys) {
    r.problem(`${where}: apiv3_key needs platform_certificates or wechatpay_public_keys to verify APIv3 notifications`);
    return undefined;
  }
  const built = v3PlatformKeys({ certificates, publicKeys }, now);
  if (!built.ok) {
    r.problem(`${where}: ${built.error.message}`);
    return undefined;
  }
  return { apiV3Key, keys: built.keys };
}

/** A PEM given inline, or the path of a file holding it. */
function readPem(r: EnvReader, where: string, value: string, readFile: ReadFile): string | undefined {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFile(value);
  } catch {
    r.problem(`${where}: ${value} cannot be read (give a PEM file path, or the PEM itself)`);
    return undefined;
  }
}

function readSubMchIds(r: EnvReader, where: string, entry: Record<string, unknown>, mchId: string): string[] | undefined {
  const raw = entry['sub_mch_ids'];
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((s) => typeof s === 'string' && /^\d{1,32}$/.test(s))) {
    r.problem(`${where}: sub_mch_ids must be a non-empty array of mch_id strings (digits)`);
    return undefined;
  }
  const ids = raw as string[];
  if (new Set(ids).size !== ids.length) r.problem(`${where}: sub_mch_ids lists the same sub-merchant twice`);
  if (ids.includes(mchId)) r.problem(`${where}: sub_mch_ids must not list the provider's own mch_id ${mchId}`);
  return ids;
}

interface SecretRule {
  /** The entry's field prefix: `api_key` reads api_key, api_key_env or api_key_file. */
  readonly field: string;
  readonly pattern: RegExp;
  /** What the value must look like, for the error (the value itself is never echoed). */
  readonly shape: string;
}

/** A secret comes inline, from a named environment variable, or from a file (a mounted Secret). */
function readSecret(
  r: EnvReader,
  where: string,
  entry: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  rule: SecretRule = V2_KEY_RULE,
): string | undefined {
  const { field } = rule;
  const given = [field, `${field}_env`, `${field}_file`].filter((k) => entry[k] !== undefined);
  if (given.length !== 1) {
    r.problem(`${where}: set exactly one of ${field}, ${field}_env, ${field}_file`);
    return undefined;
  }
  let value: string | undefined;
  const inline = entry[field];
  const envName = entry[`${field}_env`];
  const file = entry[`${field}_file`];
  if (typeof inline === 'string') value = inline;
  else if (typeof envName === 'string') {
    value = env[envName];
    if (value === undefined) r.problem(`${where}: ${field}_env names ${envName}, which is not set`);
  } else if (typeof file === 'string') {
    try {
      value = readFile(file).trim();
    } catch {
      r.problem(`${where}: ${field}_file ${file} cannot be read`);
    }
  } else {
    r.problem(`${where}: ${given[0] ?? field} must be a string`);
  }
  if (value !== undefined && !rule.pattern.test(value)) {
    r.problem(`${where}: ${rule.shape} (it has ${value.length} characters)`);
    return undefined;
  }
  return value;
}

/** The same, for a secret that may be left out: undefined when none of its three fields is set. */
function readOptionalSecret(
  r: EnvReader,
  where: string,
  entry: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  rule: SecretRule,
): string | undefined {
  return hasSecret(entry, rule.field) ? readSecret(r, where, entry, env, readFile, rule) : undefined;
}

function hasSecret(entry: Record<string, unknown>, field: string): boolean {
  return [field, `${field}_env`, `${field}_file`].some((k) => entry[k] !== undefined);
}

/**
 * Entries of a JSON list given as a file and/or inline: an array, or {"<key>": [...]}.
 * undefined when neither variable is set.
 */
function readJsonList(
  r: EnvReader,
  fileVar: string,
  inlineVar: string,
  key: string,
  readFile: ReadFile,
): Array<{ where: string; entry: unknown }> | undefined {
  const file = r.optional(fileVar);
  const inline = r.optional(inlineVar);
  if (!file && !inline) return undefined;
  const sources: Array<{ name: string; text: string }> = [];
  if (file) {
    try {
      sources.push({ name: `${fileVar} ${file}`, text: readFile(file) });
    } catch (e) {
      r.problem(`${fileVar} ${file} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (inline) sources.push({ name: inlineVar, text: inline });
  const entries: Array<{ where: string; entry: unknown }> = [];
  for (const source of sources) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(source.text);
    } catch {
      // JSON.parse quotes the text around the error, which may be a secret: say only where to look.
      r.problem(`${source.name} is not valid JSON (are all strings, including keys, in double quotes?)`);
      continue;
    }
    const list = Array.isArray(parsed) ? parsed : isRecord(parsed) && Array.isArray(parsed[key]) ? parsed[key] : undefined;
    if (!list) {
      r.problem(`${source.name} must be a JSON array or {"${key}": [...]}`);
      continue;
    }
    list.forEach((entry: unknown, i: number) => entries.push({ where: `${source.name} entry #${i + 1}`, entry }));
  }
  return entries;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  // Plain objects and arrays only: a KeyObject caches its details on itself, and a Map is frozen
  // by its owner's type (ReadonlyMap).
  if (isPlainData(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function isPlainData(v: unknown): v is object {
  if (Array.isArray(v)) return true;
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
