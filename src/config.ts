import { readFileSync } from 'node:fs';
import { ConfigError, EnvReader, type ListenAddress } from './env-reader';
import type { Merchant } from './notify/merchant';
import { isSignType, SIGN_TYPES, type SignType } from './notify/sign';

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
}

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

/** The environment variables the core reads; the k8s ConfigMap test checks against this list. */
export const CORE_ENV_VARS = Object.freeze([
  'PAYMENT_CALLBACK_ENV', 'GRPC_LISTEN', 'METRICS_LISTEN', 'DATABASE_URL', 'DATABASE_POOL_MAX',
  'REDIS_URLS', 'LOCK_TTL_MS', 'LOCK_WAIT_MS', 'LOCK_RETRY_DELAY_MS', 'MERCHANTS_FILE', 'MERCHANTS_JSON',
  'LOG_LEVEL', 'SHUTDOWN_GRACE_MS',
] as const);

type ReadFile = (path: string) => string;

export function readCoreConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile = (p) => readFileSync(p, 'utf8'),
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
    merchants: readMerchants(r, env, readFile, mode),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    shutdownGraceMs: r.integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  };
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

/** postgres://pay:p@ss@db/pay => postgres://pay:***@db/pay (the last @ ends the password). */
export function redactPassword(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/[^:@/]*):.*@/i, '$1:***@');
}

function readRedisUrls(r: EnvReader): string[] {
  const urls = r.list('REDIS_URLS');
  for (const u of urls) {
    if (!/^rediss?:\/\/[^\s]+$/.test(u)) r.problem(`REDIS_URLS entry ${redactPassword(u)} must be redis://host:port`);
  }
  if (new Set(urls).size !== urls.length) r.problem('REDIS_URLS lists the same node twice; Redlock needs independent nodes');
  return urls;
}

function readMerchants(
  r: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  mode: CoreConfig['env'],
): Merchant[] {
  const sources: Array<{ name: string; text: string }> = [];
  const file = r.optional('MERCHANTS_FILE');
  if (file) {
    try {
      sources.push({ name: `MERCHANTS_FILE ${file}`, text: readFile(file) });
    } catch (e) {
      r.problem(`MERCHANTS_FILE ${file} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const inline = r.optional('MERCHANTS_JSON');
  if (inline) sources.push({ name: 'MERCHANTS_JSON', text: inline });
  if (!file && !inline) {
    r.problem('no merchants configured: set MERCHANTS_FILE or MERCHANTS_JSON (see README "Configuration")');
  }

  const merchants: Merchant[] = [];
  for (const source of sources) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(source.text);
    } catch {
      // JSON.parse quotes the text around the error, which may be a key: say only where to look.
      r.problem(`${source.name} is not valid JSON (are all strings, including keys, in double quotes?)`);
      continue;
    }
    const list = Array.isArray(parsed) ? parsed : isRecord(parsed) && Array.isArray(parsed['merchants']) ? parsed['merchants'] : undefined;
    if (!list) {
      r.problem(`${source.name} must be a JSON array of merchants or {"merchants": [...]}`);
      continue;
    }
    list.forEach((entry: unknown, i: number) => {
      const m = readMerchant(r, `${source.name} merchant #${i + 1}`, entry, env, readFile);
      if (m) merchants.push(m);
    });
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
  return merchants;
}

function readMerchant(
  r: EnvReader,
  where: string,
  entry: unknown,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
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
  if (r.problems.length > before || apiKey === undefined) return undefined;
  return { mchId: mchId as string, appids: appids as string[], apiKey, signTypes };
}

/** The key comes inline, from a named environment variable, or from a file (a mounted Secret). */
function readSecret(
  r: EnvReader,
  where: string,
  entry: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
): string | undefined {
  const given = ['api_key', 'api_key_env', 'api_key_file'].filter((k) => entry[k] !== undefined);
  if (given.length !== 1) {
    r.problem(`${where}: set exactly one of api_key, api_key_env, api_key_file`);
    return undefined;
  }
  let key: string | undefined;
  const inline = entry['api_key'];
  const envName = entry['api_key_env'];
  const file = entry['api_key_file'];
  if (typeof inline === 'string') key = inline;
  else if (typeof envName === 'string') {
    key = env[envName];
    if (key === undefined) r.problem(`${where}: api_key_env names ${envName}, which is not set`);
  } else if (typeof file === 'string') {
    try {
      key = readFile(file).trim();
    } catch {
      r.problem(`${where}: api_key_file ${file} cannot be read`);
    }
  } else {
    r.problem(`${where}: ${given[0]} must be a string`);
  }
  if (key !== undefined && !/^[A-Za-z0-9]{32}$/.test(key)) {
    // Never echo the key: say what shape it must have.
    r.problem(`${where}: the API key must be 32 letters or digits (it has ${key.length} characters)`);
    return undefined;
  }
  return key;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
