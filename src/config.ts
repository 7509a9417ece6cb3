import { readFileSync } from 'node:fs';
import { ConfigError, EnvReader, type ListenAddress } from './env-reader';
import { isScope, SCOPES, type Caller, type Scope } from './auth/scopes';
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
  /** Services allowed to call; empty means authentication is off (refused in production). */
  readonly callers: readonly Caller[];
  /** gRPC services reachable without a token (health and reflection for operators by default). */
  readonly publicServices: readonly string[];
  /** TLS for the gRPC port; with clientCaPem, clients must present a certificate (mTLS). */
  readonly tls: TlsConfig | undefined;
  readonly events: { readonly pollMs: number; readonly batchSize: number };
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

/** The environment variables the core reads; the k8s ConfigMap test checks against this list. */
export const CORE_ENV_VARS = Object.freeze([
  'PAYMENT_CALLBACK_ENV', 'GRPC_LISTEN', 'METRICS_LISTEN', 'DATABASE_URL', 'DATABASE_POOL_MAX',
  'REDIS_URLS', 'LOCK_TTL_MS', 'LOCK_WAIT_MS', 'LOCK_RETRY_DELAY_MS', 'MERCHANTS_FILE', 'MERCHANTS_JSON',
  'LOG_LEVEL', 'SHUTDOWN_GRACE_MS', 'CALLERS_FILE', 'CALLERS_JSON', 'AUTH_PUBLIC_SERVICES',
  'GRPC_TLS_CERT_FILE', 'GRPC_TLS_KEY_FILE', 'GRPC_TLS_CLIENT_CA_FILE', 'EVENTS_POLL_MS', 'EVENTS_BATCH_SIZE',
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
    callers: readCallers(r, env, readFile),
    publicServices: r.optional('AUTH_PUBLIC_SERVICES') === 'none'
      ? []
      : r.list('AUTH_PUBLIC_SERVICES').length > 0 ? r.list('AUTH_PUBLIC_SERVICES') : DEFAULT_PUBLIC_SERVICES,
    tls: readTls(r, readFile),
    events: {
      pollMs: r.integer('EVENTS_POLL_MS', 500, 10, 60_000),
      batchSize: r.integer('EVENTS_BATCH_SIZE', 100, 1, 1_000),
    },
  };
  if (mode === 'production' && config.callers.length === 0) {
    r.problem('PAYMENT_CALLBACK_ENV=production needs CALLERS_FILE or CALLERS_JSON: without callers anyone who reaches the gRPC port could mark orders paid');
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

/** postgres://pay:p@ss@db/pay => postgres://pay:***@db/pay (the last @ ends the password). */
export function redactPassword(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/[^:@/]*):.*@/i, '$1:***@');
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

function readMerchants(
  r: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
  mode: CoreConfig['env'],
): Merchant[] {
  const entries = readJsonList(r, 'MERCHANTS_FILE', 'MERCHANTS_JSON', 'merchants', readFile);
  if (entries === undefined) {
    r.problem('no merchants configured: set MERCHANTS_FILE or MERCHANTS_JSON (see README "Configuration")');
  }
  const merchants: Merchant[] = [];
  for (const { where, entry } of entries ?? []) {
    const m = readMerchant(r, where, entry, env, readFile);
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
  rule: SecretRule = { field: 'api_key', pattern: /^[A-Za-z0-9]{32}$/, shape: 'the API key must be 32 letters or digits' },
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
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
