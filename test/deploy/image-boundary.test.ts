// The image holds only the product (README "Layout"): every path the Dockerfile copies from the
// build context is product, and no product source imports the developer tools (tools/), the test
// harness (harness/), the tests or the benchmark. Parsing only: no Docker needed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..', '..', '..');

/** What the image may contain from the build context: the programs, their contract, their config. */
const PRODUCT = new Set(['src', 'gateway', 'proto', 'config', 'package.json', 'package-lock.json', 'tsconfig.json']);
/** What must never reach the image; each is also excluded from the build context. */
const NOT_PRODUCT = ['tools', 'harness', 'test', 'bench'];

/** Sources of every `COPY` from the build context (not `--from=<stage>`), as written. */
function copiedFromContext(dockerfile: string): string[] {
  const sources: string[] = [];
  // Continuation lines joined, comments dropped.
  const lines = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of lines) {
    const words = line.split(/\s+/);
    if (words[0]?.toUpperCase() !== 'COPY') continue;
    const args = words.slice(1);
    if (args.some((a) => a.startsWith('--from='))) continue;
    const paths = args.filter((a) => !a.startsWith('--'));
    sources.push(...paths.slice(0, -1).map((p) => p.replace(/^\.\//, '').replace(/\/$/, '')));
  }
  return sources;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFilesUnder(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const sources = copiedFromContext(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const copiedDirs = sources.filter((s) => statSync(join(ROOT, s)).isDirectory());

test('the Dockerfile copies only product paths from the build context', () => {
  assert.ok(
    sources.includes('src') && sources.includes('gateway'),
    `the core and the gateway are copied: ${sources.join(', ')}`,
  );
  for (const s of sources) {
    const top = s.split('/')[0] ?? s;
    assert.ok(PRODUCT.has(top), `COPY ${s}: not product (product is ${[...PRODUCT].join(', ')}; see README "Layout")`);
  }
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const dir of NOT_PRODUCT) assert.ok(ignored.includes(dir), `.dockerignore must exclude ${dir}/`);
});

test('no product source imports tools/, harness/, test/, bench/ or a dev dependency', () => {
  const files = copiedDirs.flatMap((d) => tsFilesUnder(join(ROOT, d)));
  assert.ok(files.length > 100, `found ${files.length} product sources`);
  const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const crossings: string[] = [];
  for (const file of files) {
    const imports = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((i) => i.fileName);
    // The image keeps only production dependencies (npm prune --omit=dev).
    for (const spec of imports.filter((s) => !s.startsWith('.') && !s.startsWith('node:'))) {
      const name = spec
        .split('/')
        .slice(0, spec.startsWith('@') ? 2 : 1)
        .join('/');
      if (!builtinModules.includes(name) && !(name in dependencies))
        crossings.push(`${relative(ROOT, file)} imports ${spec}, not a production dependency`);
    }
    for (const spec of imports.filter((s) => s.startsWith('.'))) {
      const target = relative(ROOT, resolve(dirname(file), spec));
      const top = target.split(sep)[0] ?? target;
      // Inside a copied directory, or the contract's generated code there: product.
      if (!copiedDirs.includes(top)) crossings.push(`${relative(ROOT, file)} imports ${spec} (${target})`);
    }
  }
  assert.deepEqual(crossings, [], 'product sources reach outside what the image copies');
});
