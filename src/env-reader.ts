/**
 * Reads typed settings out of an environment and collects every problem instead of stopping at
 * the first, so an operator fixes a broken deployment in one pass.
 */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  string(name: string, fallback: string): string {
    const value = this.env[name];
    return value === undefined || value === '' ? fallback : value;
  }

  optional(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  /** A whole number within [min, max]; `fallback` when unset. */
  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name}=${raw} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name}=${raw} must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  }

  /** "host:port" or "[v6]:port"; port 0 asks the system for a free port (tests use it). */
  listenAddress(name: string, fallback: string): ListenAddress {
    const raw = this.string(name, fallback);
    const parsed = parseListenAddress(raw);
    if (!parsed) {
      this.problems.push(`${name}=${raw} must be host:port, e.g. 127.0.0.1:8080`);
      return parseListenAddress(fallback) ?? { host: '127.0.0.1', port: 0 };
    }
    return parsed;
  }

  /** A comma-separated list with blanks removed. */
  list(name: string): string[] {
    return (this.optional(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  problem(message: string): void {
    this.problems.push(message);
  }

  /**
   * The content of the file the variable `name` names; undefined when it is unset, and a problem
   * (never the content, which is usually a secret) when the file cannot be read.
   */
  fileContent(name: string, readFile: (path: string) => string): string | undefined {
    const file = this.optional(name);
    if (!file) return undefined;
    try {
      return readFile(file);
    } catch {
      this.problem(`${name} ${file} cannot be read`);
      return undefined;
    }
  }
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

function parseListenAddress(raw: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(raw);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

export function formatListenAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Thrown when configuration is unusable; `problems` lists everything wrong at once. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';

  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
