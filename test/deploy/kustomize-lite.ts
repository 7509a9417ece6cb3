// A small kustomize, enough to render k8s/ in tests without kubectl. It supports exactly the
// kustomization fields k8s/ uses and throws on any other, so a manifest change that needs more
// fails here instead of being silently rendered wrong:
//
//   resources          files and directories (with a kustomization.yaml), never URLs
//   configMapGenerator name + files / envs / literals, with kustomize's content-hash suffix and
//                      the pod specs' references to it rewritten
//   patches            JSON 6902 patches from a file, targeted by kind and name
//   components         directories whose kustomization is a `kind: Component` (resources and
//                      patches only), applied to what the including kustomization has so far
//   namespace, images, replicas
//
// Order within one kustomization: resources, generators, components, patches, namespace,
// images, replicas.
// When kubectl is installed, manifests.test.ts also compares this output with
// `kubectl kustomize` object for object.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { isScalar, parseAllDocuments, visit } from 'yaml';

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface Rendered {
  readonly objects: KObject[];
  /** Every file read while rendering (absolute paths): to tell what a kustomization uses. */
  readonly files: ReadonlySet<string>;
}

const KUSTOMIZATION_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'configMapGenerator',
  'images',
  'replicas',
  'patches',
  'components',
]);
const COMPONENT_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'patches']);

/** Kinds that have no namespace; the namespace field leaves them alone. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'IngressClass',
  'PriorityClass',
]);

/**
 * Renders `dir`. `extraComponents` (paths relative to `dir`) are added to its `components`, as
 * if uncommented there: how the tests render each optional component of an overlay.
 */
export function build(dir: string, extraComponents: readonly string[] = []): Rendered {
  const files = new Set<string>();
  const objects = buildDir(resolve(dir), files, extraComponents);
  return { objects, files };
}

function buildDir(dir: string, files: Set<string>, extraComponents: readonly string[] = []): KObject[] {
  const kustomizationFile = join(dir, 'kustomization.yaml');
  const k = asRecord(readYaml(kustomizationFile, files)[0], kustomizationFile);
  if (k['kind'] === 'Component')
    throw new Error(`${kustomizationFile}: a Component is listed under components, not resources`);
  for (const field of Object.keys(k)) {
    if (!KUSTOMIZATION_FIELDS.has(field))
      throw new Error(`${kustomizationFile}: kustomize-lite does not support "${field}"`);
  }

  const objects: KObject[] = [];
  for (const entry of stringList(k['resources'], 'resources')) {
    if (/^[a-z]+:\/\//.test(entry) || entry.startsWith('git@'))
      throw new Error(`${kustomizationFile}: remote resource ${entry}`);
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) objects.push(...buildDir(path, files));
    else objects.push(...readYaml(path, files).map((doc) => asObject(doc, path)));
  }

  const generated = listOf(k['configMapGenerator']).map((g) =>
    generateConfigMap(dir, asRecord(g, 'configMapGenerator'), files),
  );
  objects.push(...generated.map((g) => g.object));

  for (const c of [...stringList(k['components'], 'components'), ...extraComponents])
    applyComponent(resolve(dir, c), objects, files);

  for (const p of listOf(k['patches'])) applyPatch(dir, asRecord(p, 'patches'), objects, files);

  const namespace = k['namespace'];
  if (typeof namespace === 'string') {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = namespace;
  }

  for (const i of listOf(k['images'])) setImage(asRecord(i, 'images'), objects);

  for (const r of listOf(k['replicas'])) {
    const { name, count } = asRecord(r, 'replicas');
    const targets = objects.filter(
      (o) => ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(o.kind) && o.metadata.name === name,
    );
    if (targets.length === 0 || typeof count !== 'number')
      throw new Error(`${kustomizationFile}: replicas entry ${String(name)} matches nothing`);
    for (const t of targets) asRecord(t['spec'], 'spec')['replicas'] = count;
  }

  // Generated names carry a hash of their content; point every reference at the new name.
  const renamed = new Map(generated.map((g) => [g.name, g.object.metadata.name]));
  for (const o of objects) {
    const pod = podSpec(o);
    if (pod) renameConfigMapRefs(pod, renamed);
  }
  return objects;
}

// ---- components ---------------------------------------------------------------------------

function applyComponent(dir: string, objects: KObject[], files: Set<string>): void {
  const file = join(dir, 'kustomization.yaml');
  const c = asRecord(readYaml(file, files)[0], file);
  if (c['kind'] !== 'Component' || c['apiVersion'] !== 'kustomize.config.k8s.io/v1alpha1') {
    throw new Error(`${file}: a component needs apiVersion kustomize.config.k8s.io/v1alpha1 and kind Component`);
  }
  for (const field of Object.keys(c)) {
    if (!COMPONENT_FIELDS.has(field)) throw new Error(`${file}: kustomize-lite components do not support "${field}"`);
  }
  for (const entry of stringList(c['resources'], 'resources')) {
    const path = resolve(dir, entry);
    objects.push(...readYaml(path, files).map((doc) => asObject(doc, path)));
  }
  for (const p of listOf(c['patches'])) applyPatch(dir, asRecord(p, 'patches'), objects, files);
}

// ---- configMapGenerator -------------------------------------------------------------------

function generateConfigMap(
  dir: string,
  g: Record<string, unknown>,
  files: Set<string>,
): { name: string; object: KObject } {
  for (const field of Object.keys(g)) {
    if (!['name', 'files', 'envs', 'literals'].includes(field))
      throw new Error(`configMapGenerator: "${field}" is not supported`);
  }
  const name = g['name'];
  if (typeof name !== 'string') throw new Error('configMapGenerator: name is required');
  const data: Record<string, string> = {};
  const put = (key: string, value: string, from: string): void => {
    if (key in data) throw new Error(`configMapGenerator ${name}: key ${key} twice (${from})`);
    data[key] = value;
  };
  for (const entry of stringList(g['files'], 'files')) {
    const [key, path] = entry.includes('=') ? (entry.split('=', 2) as [string, string]) : [basename(entry), entry];
    put(key, readText(resolve(dir, path), files), entry);
  }
  for (const envFile of stringList(g['envs'], 'envs')) {
    for (const [key, value] of parseEnvFile(readText(resolve(dir, envFile), files), envFile)) put(key, value, envFile);
  }
  for (const literal of stringList(g['literals'], 'literals')) {
    const eq = literal.indexOf('=');
    if (eq <= 0) throw new Error(`configMapGenerator ${name}: literal ${literal} is not KEY=VALUE`);
    put(literal.slice(0, eq), literal.slice(eq + 1), literal);
  }
  return {
    name,
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-${configMapHash(data)}` },
      data,
    },
  };
}

/** kustomize's .env reading: KEY=VALUE lines, # comments and blank lines skipped, values verbatim. */
function parseEnvFile(text: string, where: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trimStart();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) throw new Error(`${where}:${i + 1}: not KEY=VALUE: ${line}`);
    pairs.push([key, line.slice(eq + 1)]);
  });
  return pairs;
}

/**
 * kustomize's suffix (api/hasher): sha256 of the Go-JSON encoding of {data, kind, name}, the
 * first ten hex digits, with 0 1 3 a e replaced so the suffix never spells a word. The name is
 * always "" there: kustomize looks it up with Lookup("metadata/name"), which finds no such field.
 */
function configMapHash(data: Record<string, string>): string {
  const sortedData = Object.fromEntries(
    Object.keys(data)
      .sort()
      .map((k) => [k, data[k]]),
  );
  const json = JSON.stringify({ data: sortedData, kind: 'ConfigMap', name: '' })
    // Go's encoding/json escapes these; JSON.stringify does not.
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const hex = createHash('sha256').update(json).digest('hex').slice(0, 10);
  const swap: Record<string, string> = { 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' };
  return [...hex].map((c) => swap[c] ?? c).join('');
}

function renameConfigMapRefs(pod: Record<string, unknown>, renamed: ReadonlyMap<string, string>): void {
  const rename = (ref: unknown): void => {
    if (!isRecord(ref)) return;
    const to = typeof ref['name'] === 'string' ? renamed.get(ref['name']) : undefined;
    if (to) ref['name'] = to;
  };
  for (const v of listOf(pod['volumes'])) {
    if (!isRecord(v)) continue;
    rename(v['configMap']);
    const projected = v['projected'];
    if (isRecord(projected)) for (const s of listOf(projected['sources'])) if (isRecord(s)) rename(s['configMap']);
  }
  for (const c of containersOf(pod)) {
    for (const e of listOf(c['envFrom'])) if (isRecord(e)) rename(e['configMapRef']);
    for (const e of listOf(c['env'])) {
      if (isRecord(e) && isRecord(e['valueFrom'])) rename(e['valueFrom']['configMapKeyRef']);
    }
  }
}

// ---- patches (JSON 6902) ------------------------------------------------------------------

function applyPatch(dir: string, p: Record<string, unknown>, objects: KObject[], files: Set<string>): void {
  const { path, target } = p;
  if (typeof path !== 'string' || !isRecord(target) || Object.keys(p).some((k) => k !== 'path' && k !== 'target')) {
    throw new Error('patches: kustomize-lite supports only {path, target: {kind, name}}');
  }
  if (Object.keys(target).some((k) => k !== 'kind' && k !== 'name'))
    throw new Error('patches: target may only have kind and name');
  const file = resolve(dir, path);
  const ops = readYaml(file, files)[0];
  if (!Array.isArray(ops)) throw new Error(`${file}: only JSON 6902 patches (a list of operations) are supported`);
  const matches = objects.filter((o) => o.kind === target['kind'] && o.metadata.name === target['name']);
  if (matches.length !== 1)
    throw new Error(
      `${file}: target ${String(target['kind'])}/${String(target['name'])} matches ${matches.length} objects`,
    );
  for (const op of ops) applyOperation(matches[0] as KObject, asRecord(op, file), file);
}

function applyOperation(doc: KObject, op: Record<string, unknown>, file: string): void {
  const kind = op['op'];
  const pointer = op['path'];
  if (typeof pointer !== 'string' || !pointer.startsWith('/')) throw new Error(`${file}: bad path ${String(pointer)}`);
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = tokens.pop() as string;
  let parent: unknown = doc;
  for (const t of tokens) {
    parent = Array.isArray(parent) ? parent[Number(t)] : isRecord(parent) ? parent[t] : undefined;
    if (parent === undefined) throw new Error(`${file}: ${pointer} does not exist`);
  }
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new Error(`${file}: ${pointer}: bad index`);
    if (kind === 'add') parent.splice(i, 0, op['value']);
    else if ((kind === 'replace' || kind === 'remove') && i < parent.length) {
      if (kind === 'replace') parent[i] = op['value'];
      else parent.splice(i, 1);
    } else throw new Error(`${file}: ${String(kind)} ${pointer} is not possible`);
  } else if (isRecord(parent)) {
    if ((kind === 'replace' || kind === 'remove') && !(last in parent))
      throw new Error(`${file}: ${pointer} does not exist`);
    if (kind === 'add' || kind === 'replace') parent[last] = op['value'];
    else if (kind === 'remove') delete parent[last];
    else throw new Error(`${file}: op ${String(kind)} is not supported`);
  } else {
    throw new Error(`${file}: ${pointer}: parent is not an object or a list`);
  }
}

// ---- images -------------------------------------------------------------------------------

/** name[:tag][@digest], where a registry host:port is part of the name. */
export function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  const [rest, digest] = image.split('@', 2) as [string, string | undefined];
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > rest.lastIndexOf('/');
  return {
    name: hasTag ? rest.slice(0, colon) : rest,
    ...(hasTag ? { tag: rest.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

function setImage(i: Record<string, unknown>, objects: KObject[]): void {
  const { name, newName, newTag, digest } = i;
  if (typeof name !== 'string' || Object.keys(i).some((k) => !['name', 'newName', 'newTag', 'digest'].includes(k))) {
    throw new Error('images: entries have name and newName / newTag / digest');
  }
  let matched = false;
  for (const o of objects) {
    const pod = podSpec(o);
    if (!pod) continue;
    for (const c of containersOf(pod)) {
      if (typeof c['image'] !== 'string') continue;
      const current = parseImage(c['image']);
      if (current.name !== name) continue;
      matched = true;
      const tag = typeof newTag === 'string' ? newTag : current.tag;
      const sha = typeof digest === 'string' ? digest : current.digest;
      c['image'] = `${typeof newName === 'string' ? newName : current.name}${sha ? `@${sha}` : tag ? `:${tag}` : ''}`;
    }
  }
  if (!matched) throw new Error(`images: ${name} matches no container`);
}

// ---- pod specs ----------------------------------------------------------------------------

/** The pod spec inside a workload (Pod, Deployment & co, Job, CronJob), if it has one. */
function podSpec(o: KObject): Record<string, unknown> | undefined {
  return podTemplate(o)?.spec;
}

export function podTemplate(
  o: KObject,
): { labels: Record<string, string>; annotations: Record<string, string>; spec: Record<string, unknown> } | undefined {
  const spec = o['spec'];
  if (!isRecord(spec)) return undefined;
  let template: unknown;
  if (o.kind === 'Pod') template = { metadata: o.metadata, spec };
  else if (o.kind === 'CronJob')
    template =
      isRecord(spec['jobTemplate']) && isRecord(spec['jobTemplate']['spec'])
        ? spec['jobTemplate']['spec']['template']
        : undefined;
  else template = spec['template'];
  if (!isRecord(template) || !isRecord(template['spec'])) return undefined;
  const meta = isRecord(template['metadata']) ? template['metadata'] : {};
  return {
    labels: (isRecord(meta['labels']) ? meta['labels'] : {}) as Record<string, string>,
    annotations: (isRecord(meta['annotations']) ? meta['annotations'] : {}) as Record<string, string>,
    spec: template['spec'],
  };
}

export function containersOf(pod: Record<string, unknown>): Array<Record<string, unknown>> {
  return [...listOf(pod['initContainers']), ...listOf(pod['containers'])].filter(isRecord);
}

// ---- YAML ---------------------------------------------------------------------------------

/**
 * Parses every document in a file, strictly: syntax errors and duplicate keys throw, and so do
 * plain scalars that YAML 1.1 readers (kubectl's) and YAML 1.2 readers (this one) disagree on,
 * such as `0440` (octal 288 or decimal 440) and `yes`/`on` (boolean or string). Quote them.
 */
export function readYaml(file: string, files?: Set<string>): unknown[] {
  const text = readText(file, files);
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      visit(doc, {
        Scalar(_key, node) {
          if (!isScalar(node) || node.type !== 'PLAIN' || typeof node.source !== 'string') return;
          if (/^(y|yes|n|no|on|off)$/i.test(node.source) || /^[-+]?0[0-9_]+$/.test(node.source)) {
            throw new Error(
              `${relative(process.cwd(), file)}: plain scalar ${node.source} reads differently in YAML 1.1 and 1.2; quote it`,
            );
          }
        },
      });
      const value: unknown = doc.toJS({ maxAliasCount: -1 });
      return value;
    })
    .filter((d) => d !== null && d !== undefined);
}

function readText(file: string, files?: Set<string>): string {
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  files?.add(resolve(file));
  return readFileSync(file, 'utf8');
}

function asObject(doc: unknown, file: string): KObject {
  const o = asRecord(doc, file);
  const meta = o['metadata'];
  if (
    typeof o['apiVersion'] !== 'string' ||
    typeof o['kind'] !== 'string' ||
    !isRecord(meta) ||
    typeof meta['name'] !== 'string'
  ) {
    throw new Error(`${file}: every document needs apiVersion, kind and metadata.name`);
  }
  return o as KObject;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asRecord(v: unknown, where: string): Record<string, unknown> {
  if (!isRecord(v)) throw new Error(`${where}: expected a mapping`);
  return v;
}

function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function stringList(v: unknown, field: string): string[] {
  const list = listOf(v);
  if (!list.every((s): s is string => typeof s === 'string')) throw new Error(`${field}: expected a list of strings`);
  return list;
}
