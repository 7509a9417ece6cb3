import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { ConfigError, EnvReader, type ListenAddress } from '../env-reader';
import type { LogLevel } from '../config';

/**
 * The operators' console's configuration, read once at start-up from the environment, validated
 * with every problem reported at once, then frozen. The console is a client of the core's gRPC
 * API with its own caller token; it has no access to the database.
 */
export interface ConsoleConfig {
  /** CONSOLE_LISTEN, 127.0.0.1:8090 by default: only this machine reaches it. */
  readonly listen: ListenAddress;
  /** CONSOLE_CORE_TARGET: where the core's gRPC API is, e.g. dns:///core-headless:50051. */
  readonly coreTarget: string;
  /** The console's own caller token (CONSOLE_CORE_TOKEN or CONSOLE_CORE_TOKEN_FILE); undefined when the core has auth off. */
  readonly coreToken: string | undefined;
  readonly coreTls: { readonly caPem: string; readonly certPem?: string; readonly keyPem?: string } | undefined;
  /**
   * How operators are identified. `local`: no proxy, everyone who reaches the port is
   * `localOperator`. `proxy`: only requests from `trustedProxies` are served, and the operator is
   * the value of `userHeader` they set (oauth2-proxy's X-Forwarded-User, an ingress auth header).
   */
  readonly identity: LocalIdentity | ProxyIdentity;
  /** CONSOLE_MCH_IDS: the merchants a search by out_trade_no tries when none is given. */
  readonly mchIds: readonly string[];
  readonly logLevel: LogLevel;
}

interface LocalIdentity {
  readonly kind: 'local';
  readonly localOperator: string;
}

interface ProxyIdentity {
  readonly kind: 'proxy';
  /** Lower-case header name, e.g. "x-forwarded-user". */
  readonly userHeader: string;
  /** The proxies' addresses and ranges, as given (for logs). */
  readonly trustedProxies: readonly string[];
  /** The same, as a BlockList to check a peer address against. */
  readonly trusted: BlockList;
}

/** Every variable the console reads, for the docs and for spotting typos under CONSOLE_. */
export const CONSOLE_VARIABLES = Object.freeze([
  'CONSOLE_LISTEN',
  'CONSOLE_CORE_TARGET',
  'CONSOLE_CORE_TOKEN',
  'CONSOLE_CORE_TOKEN_FILE',
  'CONSOLE_CORE_TLS_CA_FILE',
  'CONSOLE_CORE_TLS_CERT_FILE',
  'CONSOLE_CORE_TLS_KEY_FILE',
  'CONSOLE_USER_HEADER',
  'CONSOLE_TRUSTED_PROXIES',
  'CONSOLE_LOCAL_OPERATOR',
  'CONSOLE_MCH_IDS',
  'PAYMENT_CALLBACK_ENV',
  'LOG_LEVEL',
] as const);

/** What an operator name may look like: printable ASCII (an e-mail, a login), no colon. */
export const OPERATOR_PATTERN = /^[\x21-\x39\x3b-\x7e][\x20-\x39\x3b-\x7e]{0,127}$/;

export interface ConsoleConfigSources {
  readonly readFile?: (path: string) => string;
  /** The login name of the user running the console, for CONSOLE_LOCAL_OPERATOR's default. */
  readonly localUser?: string;
}

/**
 * readConsoleConfig({}) => { listen: 127.0.0.1:8090, coreTarget: '127.0.0.1:50051', identity: { kind: 'local', ... } }
 * readConsoleConfig({ CONSOLE_LISTEN: '0.0.0.0:8090' }) throws ConfigError: listening beyond this
 * machine needs CONSOLE_USER_HEADER and CONSOLE_TRUSTED_PROXIES.
 */
export function readConsoleConfig(
  env: Readonly<Record<string, string | undefined>>,
  sources: ConsoleConfigSources = {},
): ConsoleConfig {
  const readFile = sources.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const r = new EnvReader(env);
  const read = (name: string): string | undefined => r.fileContent(name, readFile);

  for (const name of Object.keys(env)) {
    if (
      name.startsWith('CONSOLE_') &&
      env[name] !== undefined &&
      !(CONSOLE_VARIABLES as readonly string[]).includes(name)
    ) {
      r.problem(
        `${name} is not a setting of the console; it reads ${CONSOLE_VARIABLES.filter((v) => v.startsWith('CONSOLE_')).join(', ')}`,
      );
    }
  }

  const production =
    r.oneOf('PAYMENT_CALLBACK_ENV', ['development', 'production'] as const, 'development') === 'production';
  const tokenInline = r.optional('CONSOLE_CORE_TOKEN');
  const tokenFile = read('CONSOLE_CORE_TOKEN_FILE')?.trim();
  if (tokenInline && tokenFile) r.problem('set CONSOLE_CORE_TOKEN or CONSOLE_CORE_TOKEN_FILE, not both');
  const coreToken = tokenInline ?? tokenFile;
  if (coreToken !== undefined && !/^[\x21-\x7e]{24,256}$/.test(coreToken)) {
    r.problem(
      `the console's core token must be 24 to 256 printable characters without spaces (it has ${coreToken.length})`,
    );
  }
  if (coreToken === undefined && production) {
    r.problem(
      "PAYMENT_CALLBACK_ENV=production needs the console's own caller token: set CONSOLE_CORE_TOKEN_FILE (a caller with scopes orders, queries, anomalies, events)",
    );
  }

  const caPem = read('CONSOLE_CORE_TLS_CA_FILE');
  const certPem = read('CONSOLE_CORE_TLS_CERT_FILE');
  const keyPem = read('CONSOLE_CORE_TLS_KEY_FILE');
  if ((certPem === undefined) !== (keyPem === undefined))
    r.problem('CONSOLE_CORE_TLS_CERT_FILE and CONSOLE_CORE_TLS_KEY_FILE go together');
  if (certPem !== undefined && caPem === undefined)
    r.problem('a client certificate needs CONSOLE_CORE_TLS_CA_FILE to verify the core');

  const coreTarget = r.string('CONSOLE_CORE_TARGET', '127.0.0.1:50051');
  if (/\s/.test(coreTarget)) r.problem('CONSOLE_CORE_TARGET must not contain spaces');

  const listen = r.listenAddress('CONSOLE_LISTEN', '127.0.0.1:8090');
  const identity = readIdentity(r, sources.localUser ?? 'operator');
  if (identity.kind === 'local' && !isLoopback(listen.host)) {
    r.problem(
      `CONSOLE_LISTEN=${listen.host}:${listen.port} reaches beyond this machine, where anyone could act as an operator: ` +
        'keep 127.0.0.1, or put the console behind an authenticating proxy and set CONSOLE_USER_HEADER and CONSOLE_TRUSTED_PROXIES',
    );
  }

  const mchIds = r.list('CONSOLE_MCH_IDS');
  for (const id of mchIds)
    if (!/^\d{1,32}$/.test(id)) r.problem(`CONSOLE_MCH_IDS: ${id.slice(0, 40)} is not an mch_id (digits)`);

  const config: ConsoleConfig = {
    listen,
    coreTarget,
    coreToken,
    coreTls: caPem === undefined ? undefined : { caPem, ...(certPem && keyPem ? { certPem, keyPem } : {}) },
    identity,
    mchIds,
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return Object.freeze(config);
}

function readIdentity(r: EnvReader, localUser: string): LocalIdentity | ProxyIdentity {
  const header = r.optional('CONSOLE_USER_HEADER');
  const proxies = r.list('CONSOLE_TRUSTED_PROXIES');
  if (header === undefined) {
    if (proxies.length > 0)
      r.problem(
        'CONSOLE_TRUSTED_PROXIES has no effect without CONSOLE_USER_HEADER (the header the proxy puts the user in, e.g. X-Forwarded-User)',
      );
    const localOperator = r.string(
      'CONSOLE_LOCAL_OPERATOR',
      `${localUser.replace(/[^\x21-\x39\x3b-\x3f\x41-\x7e]/g, '_').slice(0, 64) || 'operator'}@localhost`,
    );
    if (!OPERATOR_PATTERN.test(localOperator)) {
      r.problem(
        'CONSOLE_LOCAL_OPERATOR must be up to 128 printable characters without a colon, e.g. alice@example.com',
      );
    }
    return { kind: 'local', localOperator };
  }
  if (!/^[A-Za-z0-9-]{1,64}$/.test(header))
    r.problem(`CONSOLE_USER_HEADER=${header.slice(0, 70)} must be a header name, e.g. X-Forwarded-User`);
  if (r.optional('CONSOLE_LOCAL_OPERATOR') !== undefined)
    r.problem('CONSOLE_LOCAL_OPERATOR applies only without CONSOLE_USER_HEADER');
  if (proxies.length === 0) {
    r.problem(
      'CONSOLE_USER_HEADER needs CONSOLE_TRUSTED_PROXIES: the addresses (or CIDR ranges) of the proxies that set it; ' +
        'a header from anyone else could name any operator',
    );
  }
  const trusted = new BlockList();
  for (const entry of proxies) {
    const parsed = parseAddressOrRange(entry);
    if (!parsed) {
      r.problem(
        `CONSOLE_TRUSTED_PROXIES: ${entry.slice(0, 60)} is not an IP address or CIDR range (e.g. 127.0.0.1, 10.0.0.0/8, ::1)`,
      );
      continue;
    }
    if (parsed.prefix === undefined) trusted.addAddress(parsed.address, parsed.family);
    else trusted.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return { kind: 'proxy', userHeader: header.toLowerCase(), trustedProxies: proxies, trusted };
}

function parseAddressOrRange(
  entry: string,
): { address: string; prefix: number | undefined; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, prefix: undefined, family };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix: Number(prefixText), family };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
