// Reading what the core sent to PostgreSQL from the server log while log_statement=all:
// one entry per statement (each one is a client/server round trip), parameters substituted.

export interface LoggedStatement {
  readonly pid: number;
  readonly app: string;
  /** As logged, with $n placeholders. */
  readonly sql: string;
  /** With the logged parameter literals in place of $n: runnable as is. */
  text: string;
}

const LINE = /^.*? \[(\d+)\] app=(\S*) ([A-Z]+): {2}(.*)$/;

export function parseStatementLog(log: string): LoggedStatement[] {
  const out: LoggedStatement[] = [];
  const lastByPid = new Map<number, LoggedStatement>();
  for (const line of log.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const app = m[2] ?? '';
    const level = m[3];
    const message = m[4] ?? '';
    if (level === 'LOG') {
      const s = /^(?:statement|execute [^:]*): (.*)$/.exec(message);
      if (!s) continue;
      const sql = (s[1] ?? '').trim();
      const entry: LoggedStatement = { pid, app, sql, text: sql };
      out.push(entry);
      lastByPid.set(pid, entry);
    } else if (level === 'DETAIL' && message.startsWith('parameters: ')) {
      const entry = lastByPid.get(pid);
      if (!entry) continue;
      const params = new Map<string, string>();
      for (const p of message.slice('parameters: '.length).matchAll(/\$(\d+) = (NULL|'(?:[^']|'')*')/g))
        params.set(p[1] ?? '', p[2] ?? 'NULL');
      entry.text = entry.sql.replace(/\$(\d+)/g, (whole, n: string) => params.get(n) ?? whole);
    }
  }
  return out;
}

/** "select ... from orders ...": the statement's shape, for counting by kind. */
export function statementKind(sql: string): string {
  const s = sql.trim().replace(/;$/, '');
  const verb = (/^\w+/.exec(s)?.[0] ?? '?').toLowerCase();
  if (verb === 'begin' || verb === 'commit' || verb === 'rollback') return verb.toUpperCase();
  if (verb === 'with') {
    // A data-modifying WITH: name each statement in it, e.g. "WITH (UPDATE orders, INSERT notifications)".
    const parts = [...s.matchAll(/\b(update|insert into|delete from)\s+"?(\w+)"?/gi)].map(
      (m) => `${(m[1] ?? '').split(' ')[0]?.toUpperCase() ?? ''} ${m[2] ?? ''}`,
    );
    return `WITH (${parts.join(', ')})`;
  }
  const table = /(?:from|into|update)\s+"?(\w+)"?/i.exec(s)?.[1] ?? '?';
  const forUpdate = /for update/i.test(s) ? ' FOR UPDATE' : '';
  return `${verb.toUpperCase()} ${table}${forUpdate}`;
}

/**
 * The statements of one notification: from the first that mentions `tradeNo` to the COMMIT
 * after the last one (the log is sequential because the trace sends one request at a time).
 */
export function statementsOf(statements: readonly LoggedStatement[], tradeNo: string): LoggedStatement[] {
  const mentions = (s: LoggedStatement): boolean => new RegExp(`[^A-Za-z0-9]${tradeNo}[^0-9]`).test(s.text);
  const first = statements.findIndex(mentions);
  if (first < 0) return [];
  let last = first;
  statements.forEach((s, i) => {
    if (mentions(s)) last = i;
  });
  const commit = statements.findIndex((s, i) => i > last && /^(commit|rollback)\b/i.test(s.sql));
  return statements.slice(first, commit >= 0 ? commit + 1 : last + 1);
}

/** The SQL with long column lists folded, for reports. */
export function compactSql(sql: string): string {
  return sql
    .replace(
      /^select ((?:"\w+", )+"\w+") from/i,
      (_w, cols: string) => `select <${cols.split(',').length} columns> from`,
    )
    .replace(
      /\(((?:"\w+", )+"\w+")\) values \(((?:\$\d+, )*\$\d+)\)/i,
      (_w, cols: string) => `(<${cols.split(',').length} columns>) values (...)`,
    );
}
