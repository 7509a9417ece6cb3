// The documentation cannot drift from the code it describes: docs/configuration.md names exactly
// the environment variables the core, the gateway and the console read (and every key of the
// merchants and callers files), and every relative link in README.md and docs/ reaches a file
// and, for an #anchor into Markdown, a heading.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { GATEWAY_ENV_VARS } from '../../gateway/config';
import { CONSOLE_VARIABLES } from '../../src/console/config';
import { CORE_ENV_VARS } from '../../src/config';
import { callerEntrySchema } from '../../src/config/callers';
import { merchantEntrySchema } from '../../src/config/merchants';

/** The repository: the nearest directory above this file (src or dist) holding package.json. */
const ROOT = ((): string => {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'docs'))) return dir;
  }
  throw new Error(`no repository above ${__dirname}`);
})();
const CONFIG_DOC = 'docs/configuration.md';

function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'gen' || e.name === 'node_modules' ? [] : filesUnder(path, keep);
    return keep(path) ? [path] : [];
  });
}

/** Markdown without its fenced code blocks, line numbers kept (a fence's lines become empty). */
function withoutFences(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/**
 * The first-column names of the tables whose header's first cell is `header`, e.g. "variable".
 * A cell may name several ("`A` / `B`", "`A`, `B`"); "`apiv3_key` / `_env` / `_file`" is shorthand
 * for apiv3_key, apiv3_key_env and apiv3_key_file.
 */
function firstColumn(markdown: string, header: string): Set<string> {
  const names = new Set<string>();
  let inTable = false;
  for (const line of withoutFences(markdown)) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cell = (line.split('|')[1] ?? '').trim();
    if (cell === header) {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(cell)) continue;
    const tokens = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
    const base = tokens[0];
    for (const token of tokens) {
      names.add(token.startsWith('_') && base !== undefined && base !== token ? `${base}${token}` : token);
    }
  }
  return names;
}

/** Names the code reads with EnvReader (r.string('X', ...), read('X')) or env['X'], outside the lists. */
function envNamesInSources(): Set<string> {
  const names = new Set<string>();
  const sources = [...filesUnder('src', (p) => p.endsWith('.ts')), ...filesUnder('gateway', (p) => p.endsWith('.ts'))];
  for (const file of sources) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/\br\.(?:string|optional|integer|oneOf|listenAddress|list)\(\s*'([A-Z][A-Z0-9_]+)'/g))
      names.add(m[1] ?? '');
    for (const m of text.matchAll(/\bread\(\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1] ?? '');
    for (const m of text.matchAll(/\benv\[\s*'([A-Z][A-Z0-9_]+)'\s*\]/g)) names.add(m[1] ?? '');
    for (const m of text.matchAll(/\bprocess\.env\.([A-Z][A-Z0-9_]+)\b/g)) names.add(m[1] ?? '');
  }
  return names;
}

function assertSameSet(code: ReadonlySet<string>, documented: ReadonlySet<string>, what: string, where: string): void {
  const undocumented = [...code].filter((n) => !documented.has(n)).sort();
  const unread = [...documented].filter((n) => !code.has(n)).sort();
  const problems = [
    ...(undocumented.length > 0
      ? [
          `the code reads ${what} that ${CONFIG_DOC} does not document: ${undocumented.join(', ')} (add a row to ${where})`,
        ]
      : []),
    ...(unread.length > 0
      ? [
          `${CONFIG_DOC} documents ${what} the code does not read: ${unread.join(', ')} (remove the row, or fix the name)`,
        ]
      : []),
  ];
  assert.deepEqual(problems, [], problems.join('\n'));
}

test('docs/configuration.md documents exactly the environment variables the core, gateway and console read', () => {
  const code = new Set<string>([...CORE_ENV_VARS, ...GATEWAY_ENV_VARS, ...CONSOLE_VARIABLES, ...envNamesInSources()]);
  const documented = firstColumn(readFileSync(join(ROOT, CONFIG_DOC), 'utf8'), 'variable');
  assert.ok(
    code.size > 40 && documented.size > 0,
    `found ${code.size} variables in the code and ${documented.size} in ${CONFIG_DOC}`,
  );
  assertSameSet(code, documented, 'variables', 'a "| variable | default | meaning |" table');
});

test('docs/configuration.md documents exactly the keys of a merchants entry and of a callers entry', () => {
  const doc = readFileSync(join(ROOT, CONFIG_DOC), 'utf8');
  assertSameSet(
    new Set(Object.keys(merchantEntrySchema.shape)),
    firstColumn(doc, 'merchant key'),
    'merchant keys',
    'the "| merchant key |" table',
  );
  assertSameSet(
    new Set(Object.keys(callerEntrySchema.shape)),
    firstColumn(doc, 'caller key'),
    'caller keys',
    'the "| caller key |" table',
  );
});

test('the source scan finds what the exported lists hold (so it would find a variable read outside them)', () => {
  const scanned = envNamesInSources();
  for (const name of ['GRPC_LISTEN', 'RECONCILE_TIMEOUT_MS', 'CORE_TOKEN_FILE', 'CONSOLE_USER_HEADER']) {
    assert.ok(
      scanned.has(name),
      `the scan of src/ and gateway/ no longer sees ${name}: update envNamesInSources to how the config readers read`,
    );
  }
});

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown)) {
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = (m[1] ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
    seen.set(slug, n + 1);
  }
  return anchors;
}

test('every relative link in README.md and docs/ reaches a file, and every #anchor a heading', () => {
  const pages = ['README.md', ...filesUnder('docs', (p) => p.endsWith('.md'))];
  assert.ok(pages.length >= 6, `pages found: ${pages.join(', ')}`);
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const lines = withoutFences(readFileSync(join(ROOT, page), 'utf8'));
    lines.forEach((line, i) => {
      // Inline code is not a link: `[x](y)` inside backticks is left alone.
      for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1] ?? '';
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        checked += 1;
        const [pathPart = '', anchor] = target.split('#', 2);
        const file = pathPart === '' ? join(ROOT, page) : resolve(ROOT, dirname(page), decodeURI(pathPart));
        const at = `${page}:${i + 1}: ${target}`;
        if (!file.startsWith(ROOT) || !existsSync(file)) {
          broken.push(`${at}: no such file ${relative(ROOT, file)}`);
          continue;
        }
        if (
          anchor !== undefined &&
          file.endsWith('.md') &&
          statSync(file).isFile() &&
          !headingAnchors(readFileSync(file, 'utf8')).has(anchor)
        ) {
          broken.push(`${at}: ${relative(ROOT, file)} has no heading with the anchor #${anchor}`);
        }
      }
    });
  }
  assert.ok(checked > 20, `only ${checked} links found`);
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});
