// Offline checks of everything that deploys the service: the Dockerfile, the kustomize tree
// under k8s/, gateway/envoy.yaml, and the copy of gateway/nginx.conf. No cluster, no Docker
// and no kubectl needed: k8s/ is rendered by ./kustomize-lite and validated against the
// Kubernetes OpenAPI schemas (kubernetes-models). The rest checks what schemas cannot see:
// that the pieces agree with each other and with the code (ports, selectors, env variables,
// entry points, limits, timings).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { createFileRegistry, fromBinary, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { GATEWAY_ENV_VARS, readGatewayConfig } from '../../gateway/config';
import { CORE_ENV_VARS, readCoreConfig } from '../../src/config';
import { ConfigError } from '../../src/env-reader';
import { PROTO_ROOT } from '../../src/server/reflection';
import {
  build,
  containersOf,
  isRecord,
  parseImage,
  podTemplate,
  readYaml,
  type KObject,
  type Rendered,
} from './kustomize-lite';

/** The repository root: this file runs as dist/test/deploy/manifests.test.js. */
const ROOT = resolve(__dirname, '..', '..', '..');
const at = (...parts: string[]): string => join(ROOT, ...parts);

const PRODUCTION = 'k8s/overlays/production';
const PRODUCTION_MIGRATE = 'k8s/overlays/production/migrate';
const NAMESPACE = 'k8s/namespace';
const ALL_KUSTOMIZATIONS = [PRODUCTION, PRODUCTION_MIGRATE, NAMESPACE, 'k8s/base', 'k8s/jobs/migrate'];
/** The overlay options under k8s/components/, each rendered on top of production. */
const COMPONENTS = readdirSync(at('k8s/components'))
  .filter((d) => existsSync(at('k8s/components', d, 'kustomization.yaml')))
  .sort();
const withComponent = (name: string): KObject[] => [
  ...build(at(PRODUCTION), [`../../components/${name}`]).objects,
  ...rendered(PRODUCTION_MIGRATE).objects,
];

/** The programs in the image: compiled entry point => its TypeScript source. */
const ENTRY_POINTS: Readonly<Record<string, string>> = {
  'dist/src/main.js': 'src/main.ts',
  'dist/gateway/main.js': 'gateway/main.ts',
  'dist/src/cli/migrate.js': 'src/cli/migrate.ts',
};
const CORE_PROGRAMS = new Set(['dist/src/main.js', 'dist/src/cli/migrate.js']);
const OUR_IMAGE = 'payment-callback';
/** WeChat Pay gives up on a notification reply after this long. */
const WECHAT_TIMEOUT_MS = 5_000;
/**
 * How long ingress-nginx keeps an idle connection to a backend (its ConfigMap's
 * upstream-keepalive-timeout, 60 s by default): the proxies behind it must keep theirs longer.
 */
const INGRESS_NGINX_UPSTREAM_KEEPALIVE_S = 60;
/** The gateway's server.keepAliveTimeout (gateway/gateway-server.ts), read from its source. */
const GATEWAY_KEEP_ALIVE_MS = ((): number => {
  const m = /\.keepAliveTimeout\s*=\s*([\d_]+);/.exec(readFileSync(at('gateway/gateway-server.ts'), 'utf8'));
  assert.ok(m, 'gateway/gateway-server.ts no longer sets server.keepAliveTimeout = <ms>: update this test');
  return Number((m[1] as string).replace(/_/g, ''));
})();

const renders = new Map<string, Rendered>(ALL_KUSTOMIZATIONS.map((dir) => [dir, build(at(dir))]));
const rendered = (dir: string): Rendered => renders.get(dir) as Rendered;
/** What production runs: the main overlay and the migrate Job, both in the same namespace. */
const prod: KObject[] = [...rendered(PRODUCTION).objects, ...rendered(PRODUCTION_MIGRATE).objects];
const secretExamples: KObject[] = readYaml(at('k8s/base/secret.example.yaml')) as KObject[];
/**
 * The example Secrets with every placeholder replaced by a well-formed value, as an operator
 * would create them: 32 hex digits pass as a merchant API key and as a caller token.
 */
const filledSecrets: KObject[] = secretExamples.map((secret) => ({
  ...secret,
  stringData: Object.fromEntries(
    Object.entries(get(secret, 'stringData') as Record<string, string>).map(([k, v]) => [
      k,
      ['DATABASE_URL', 'REDIS_URLS', 'ca.crt'].includes(k)
        ? v
        : createHash('sha256').update(`${secret.metadata.name}/${k}`).digest('hex').slice(0, 32),
    ]),
  ),
}));

// ---- small helpers ------------------------------------------------------------------------

function get(value: unknown, ...path: Array<string | number>): unknown {
  let v = value;
  for (const p of path) {
    if (typeof p === 'number' ? !Array.isArray(v) : !isRecord(v)) return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const records = (v: unknown): Array<Record<string, unknown>> => list(v).filter(isRecord);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const id = (o: KObject): string => `${o.kind}/${o.metadata.name}`;

function one(objects: KObject[], kind: string, name: string): KObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  assert.equal(found.length, 1, `expected exactly one ${kind}/${name}`);
  return found[0] as KObject;
}

interface Workload {
  readonly owner: KObject;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly spec: Record<string, unknown>;
  readonly containers: Array<Record<string, unknown>>;
}
function workloads(objects: KObject[]): Workload[] {
  return objects.flatMap((o) => {
    const t = podTemplate(o);
    return t ? [{ owner: o, ...t, containers: containersOf(t.spec) }] : [];
  });
}
function workload(objects: KObject[], name: string): Workload {
  const w = workloads(objects).find((x) => x.owner.metadata.name === name);
  assert.ok(w, `no workload ${name}`);
  return w;
}

function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (!isRecord(selector)) return false;
  // A Service's selector is a plain map; label selectors have matchLabels / matchExpressions.
  const plain = !('matchLabels' in selector) && !('matchExpressions' in selector);
  const matchLabels = plain ? selector : isRecord(selector['matchLabels']) ? selector['matchLabels'] : {};
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const e of records(selector['matchExpressions'])) {
    const key = str(e['key']);
    const values = list(e['values']);
    const has = key in labels;
    const ok =
      e['operator'] === 'In'
        ? has && values.includes(labels[key])
        : e['operator'] === 'NotIn'
          ? !has || !values.includes(labels[key])
          : e['operator'] === 'Exists'
            ? has
            : e['operator'] === 'DoesNotExist'
              ? !has
              : assert.fail(`operator ${String(e['operator'])}`);
    if (!ok) return false;
  }
  return true;
}

/** A container's declared port, by number or name. */
function declaredPort(container: Record<string, unknown>, port: unknown): number | undefined {
  const p = records(container['ports']).find(
    (x) => x['containerPort'] === port || (typeof port === 'string' && x['name'] === port),
  );
  return typeof p?.['containerPort'] === 'number' ? p['containerPort'] : undefined;
}

/**
 * The program a container runs: node + a script, from command/args or the image's defaults.
 * Node's own options (--max-old-space-size=...) are left out; nodeOptions() reads them.
 */
function argv(container: Record<string, unknown>, docker: Dockerfile): string[] {
  const [node, ...rest] = fullArgv(container, docker);
  return [node as string, ...rest.filter((a) => !a.startsWith('--'))];
}
function fullArgv(container: Record<string, unknown>, docker: Dockerfile): string[] {
  const command = container['command'];
  const args = container['args'];
  const entrypoint: readonly unknown[] = Array.isArray(command) ? command : docker.entrypoint;
  const cmd: readonly unknown[] = Array.isArray(args) ? args : Array.isArray(command) ? [] : docker.cmd;
  return [...entrypoint, ...cmd].map((a) => (typeof a === 'string' ? a : JSON.stringify(a)));
}
/** Mebibytes of a Kubernetes quantity such as 320Mi or 1Gi. */
function mebibytes(quantity: unknown): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(str(quantity));
  assert.ok(m, `quantity ${String(quantity)}: write it in Mi or Gi`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

function envOf(container: Record<string, unknown>, objects: KObject[], secrets: KObject[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const from of records(container['envFrom'])) {
    const name = str(get(from, 'configMapRef', 'name'));
    assert.ok(name, 'envFrom uses ConfigMaps only (secrets go through explicit secretKeyRef entries)');
    for (const [k, v] of Object.entries(get(one(objects, 'ConfigMap', name), 'data') as Record<string, string>))
      env.set(k, v);
  }
  for (const e of records(container['env'])) {
    const secretRef = get(e, 'valueFrom', 'secretKeyRef');
    const value = isRecord(secretRef)
      ? str(get(one(secrets, 'Secret', str(secretRef['name'])), 'stringData', str(secretRef['key'])))
      : str(e['value']);
    env.set(str(e['name']), value);
  }
  return env;
}

/** Files a container sees: mounted ConfigMap and Secret keys, by path. */
function mountedFiles(
  w: Workload,
  container: Record<string, unknown>,
  objects: KObject[],
  secrets: KObject[],
): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of records(container['volumeMounts'])) {
    const volume = records(w.spec['volumes']).find((v) => v['name'] === m['name']);
    assert.ok(volume, `${id(w.owner)}: volumeMount ${String(m['name'])} has no volume`);
    // A projected volume merges its sources into one directory; the others have one source.
    const projected = records(get(volume, 'projected', 'sources'));
    for (const source of projected.length > 0
      ? projected
      : [{ configMap: volume['configMap'], secret: volume['secret'] }]) {
      const cm = str(get(source, 'configMap', 'name'));
      const secret = str(get(source, 'secret', 'secretName') ?? get(source, 'secret', 'name'));
      const optional = get(source, cm ? 'configMap' : 'secret', 'optional') === true;
      const found = cm
        ? objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === cm)
        : secret
          ? secrets.filter((o) => o.metadata.name === secret)
          : [];
      if (found.length === 0 && optional) continue;
      const data = cm
        ? get(one(objects, 'ConfigMap', cm), 'data')
        : secret
          ? get(one(secrets, 'Secret', secret), 'stringData')
          : undefined;
      if (!isRecord(data)) continue;
      // With `items`, only the listed keys appear, under the given paths.
      const items = records(get(source, cm ? 'configMap' : 'secret', 'items'));
      const entries =
        items.length > 0 ? items.map((i) => [str(i['path']), data[str(i['key'])]] as const) : Object.entries(data);
      for (const [k, v] of entries) {
        assert.ok(v !== undefined, `${id(w.owner)}: volume ${str(volume['name'])} lists a key that does not exist`);
        files.set(`${str(m['mountPath'])}/${k}`, typeof v === 'string' ? v : JSON.stringify(v));
      }
    }
  }
  return files;
}

function fileReader(files: ReadonlyMap<string, string>, container: string): (path: string) => string {
  return (path) => {
    const text = files.get(path);
    if (text === undefined) throw new Error(`${path} is not mounted in the ${container} container`);
    return text;
  };
}

function hostPort(url: string): { host: string; port: number } {
  const m = /^(?:[a-z]+:\/\/\/?)?(?:[^@/]*@)?([^:/]+):(\d+)/.exec(url);
  assert.ok(m, `no host:port in ${url}`);
  return { host: m[1] as string, port: Number(m[2]) };
}

/**
 * A name as a pod in the namespace resolves it through its DNS search list, with the port:
 * `<service>[.<namespace>[.svc]]:<port>`, or a StatefulSet pod's `<pod>.<service>[...]:<port>`
 * -> the Service, its pods and their port. Never the cluster domain: cluster.local is only a
 * default, so a name that spells it out breaks on clusters with another one.
 */
function resolveService(
  objects: KObject[],
  url: string,
): { service: KObject; pods: Workload[]; targetPort: number; pod?: string } {
  const { host, port } = hostPort(url);
  assert.doesNotMatch(host, /cluster\.local/, `${host}: no hard-coded cluster domain`);
  const labels = host.split('.');
  const namespaces = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  // Strip an optional trailing `<namespace>.svc` or `<namespace>`.
  if (labels[labels.length - 1] === 'svc') labels.pop();
  if (labels.length > 1 && namespaces.has(labels[labels.length - 1] as string)) {
    assert.equal(labels.pop(), 'payment-callback', `${host}: another namespace`);
  }
  assert.ok(labels.length === 1 || labels.length === 2, `${host} is not <service> or <pod>.<service>`);
  const serviceName = labels[labels.length - 1] as string;
  const podName = labels.length === 2 ? labels[0] : undefined;
  const service = one(objects, 'Service', serviceName);
  const servicePort = records(get(service, 'spec', 'ports')).find((p) => p['port'] === port);
  assert.ok(servicePort, `Service ${serviceName} has no port ${port}`);
  let pods = workloads(objects).filter((w) => selectorMatches(get(service, 'spec', 'selector'), w.labels));
  assert.ok(pods.length > 0, `Service ${serviceName} selects no pods`);
  if (podName !== undefined) {
    // Per-pod names exist for a StatefulSet's pods under its headless governing Service.
    assert.equal(get(service, 'spec', 'clusterIP'), 'None', `${host}: pod names need a headless Service`);
    const m = /^(.+)-(\d+)$/.exec(podName);
    pods = pods.filter(
      (w) =>
        w.owner.kind === 'StatefulSet' &&
        get(w.owner, 'spec', 'serviceName') === serviceName &&
        m?.[1] === w.owner.metadata.name &&
        Number(m[2]) < (get(w.owner, 'spec', 'replicas') as number),
    );
    assert.equal(pods.length, 1, `${host}: no such StatefulSet pod behind ${serviceName}`);
  }
  const targets = pods.map((w) =>
    w.containers.map((c) => declaredPort(c, servicePort['targetPort'] ?? port)).find((p) => p !== undefined),
  );
  assert.ok(
    targets.every((t) => t === targets[0] && t !== undefined),
    `Service ${serviceName}: targetPort is not declared by every pod`,
  );
  return { service, pods, targetPort: targets[0] as number, ...(podName ? { pod: podName } : {}) };
}

function bytes(size: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(size.trim());
  assert.ok(m, `size ${size}`);
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 * 1024 }[(m[2] as string).toLowerCase()] as number);
}

function durationMs(d: unknown): number {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(str(d));
  assert.ok(m, `duration ${String(d)}`);
  return Math.round(Number(m[1]) * 1000);
}

function preStopSleepSeconds(container: Record<string, unknown>): number {
  const command = list(get(container, 'lifecycle', 'preStop', 'exec', 'command')).map(String);
  assert.equal(command[0], 'sleep', `container ${str(container['name'])}: preStop is a sleep`);
  return Number(command[1]);
}

// ---- Dockerfile ---------------------------------------------------------------------------

/** One COPY; `targets[i]` is where `sources[i]` lands in the image. */
interface DockerCopy {
  readonly from?: string;
  readonly sources: string[];
  readonly targets: string[];
}
interface DockerStage {
  readonly name: string;
  readonly image: string;
  readonly workdir: string;
  readonly copies: DockerCopy[];
  readonly runs: string[];
  readonly user?: string;
}
interface Dockerfile {
  readonly stages: DockerStage[];
  readonly entrypoint: string[];
  readonly cmd: string[];
  readonly healthcheck: boolean;
}

/** Enough of the Dockerfile syntax for this repository's file; anything else throws. */
function parseDockerfile(text: string): Dockerfile {
  const instructions: Array<{ keyword: string; args: string }> = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (line.trim() === '' && pending === '')) continue;
    pending += pending ? ` ${line.trim()}` : line.trim();
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd();
      continue;
    }
    const m = /^(\w+)\s+(.*)$/.exec(pending);
    assert.ok(m, `Dockerfile: cannot read "${pending}"`);
    instructions.push({ keyword: (m[1] as string).toUpperCase(), args: m[2] as string });
    pending = '';
  }
  const globalArgs = new Map<string, string>();
  const stages: Array<DockerStage & { copies: DockerCopy[]; runs: string[]; workdir: string; user?: string }> = [];
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let healthcheck = false;
  const execForm = (keyword: string, args: string): string[] => {
    assert.ok(args.startsWith('['), `${keyword} must use the exec (JSON) form, so node and not a shell is PID 1`);
    return JSON.parse(args) as string[];
  };
  for (const { keyword, args } of instructions) {
    const stage = stages[stages.length - 1];
    if (keyword === 'ARG' && !stage) {
      const [k, v] = args.split('=', 2) as [string, string | undefined];
      globalArgs.set(k, v ?? '');
    } else if (keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(m, `FROM ${args}`);
      const image = (m[1] as string).replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_s, a: string | undefined, b: string | undefined) => globalArgs.get((a ?? b) as string) ?? '',
      );
      stages.push({ name: m[2] ?? String(stages.length), image, workdir: '/', copies: [], runs: [] });
      entrypoint = [];
      cmd = [];
    } else {
      assert.ok(stage, `${keyword} before FROM`);
      if (keyword === 'WORKDIR') stage.workdir = resolve(stage.workdir, args);
      else if (keyword === 'RUN') stage.runs.push(args);
      else if (keyword === 'USER') stage.user = args;
      else if (keyword === 'ENTRYPOINT') entrypoint = execForm(keyword, args);
      else if (keyword === 'CMD') cmd = execForm(keyword, args);
      else if (keyword === 'HEALTHCHECK') healthcheck = true;
      else if (keyword === 'COPY' || keyword === 'ADD') {
        assert.equal(keyword, 'COPY', 'ADD fetches URLs and unpacks archives; use COPY');
        assert.ok(!args.startsWith('['), 'COPY: the JSON form is not supported here');
        const words = args.split(/\s+/);
        const flags = words.filter((w) => w.startsWith('--'));
        const paths = words.filter((w) => !w.startsWith('--'));
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        assert.ok(paths.length >= 2, `COPY ${args}`);
        const sources = paths.slice(0, -1);
        const dest = paths[paths.length - 1] as string;
        // A destination ending in / is a directory: each source lands inside it by its name.
        assert.ok(
          sources.length === 1 || dest.endsWith('/'),
          `COPY ${args}: several sources need a directory destination`,
        );
        const targets = sources.map((src) =>
          dest.endsWith('/') ? join(resolve(stage.workdir, dest), basename(src)) : resolve(stage.workdir, dest),
        );
        stage.copies.push({ ...(from ? { from } : {}), sources, targets });
      } else {
        assert.ok(
          ['ENV', 'EXPOSE', 'LABEL', 'ARG', 'STOPSIGNAL'].includes(keyword),
          `Dockerfile: ${keyword} is not expected here`,
        );
      }
    }
  }
  return { stages, entrypoint, cmd, healthcheck };
}

/** .dockerignore semantics: glob patterns (`*`, `**`, `?`), the last matching line wins, `!` re-includes. */
function dockerIgnored(patterns: string[], path: string): boolean {
  let ignored = false;
  const ancestors = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) => {
          if (part === '**/') return '(?:.*/)?'; // any number of directories, including none
          if (part === '**') return '.*';
          if (part === '*') return '[^/]*';
          if (part === '?') return '[^/]';
          return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        })
        .join('')}$`,
    );
    if (ancestors.some((a) => regex.test(a))) ignored = !negate;
  }
  return ignored;
}

const docker = parseDockerfile(readFileSync(at('Dockerfile'), 'utf8'));
const dockerignore = readFileSync(at('.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

// ---- strict fields: what the OpenAPI schemas let through ----------------------------------

/**
 * Kubernetes' OpenAPI schemas allow unknown fields, so `readinesProbe:` validates and is then
 * silently dropped (or rejected by the API server's strict field validation at deploy time).
 * kubernetes-models ships each kind's full shape as a TypeScript interface: walk every object
 * against that type with the compiler's checker and report fields the type does not have.
 */
function unknownFieldFinder(kinds: Array<{ apiVersion: string; kind: string }>): (o: KObject) => string[] {
  const stub = at('__deploy_model_types__.ts');
  const key = (k: { apiVersion: string; kind: string }): string => `${k.apiVersion}/${k.kind}`;
  const unique = [...new Map(kinds.map((k) => [key(k), k])).values()];
  const source = unique
    .map((k, i) => `export type T${i} = import('${modelModule(k.apiVersion)}/${k.kind}').I${k.kind};`)
    .join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const original = {
    getSourceFile: host.getSourceFile.bind(host),
    fileExists: host.fileExists.bind(host),
    readFile: host.readFile.bind(host),
  };
  host.getSourceFile = (file, language, ...rest) =>
    resolve(file) === stub
      ? ts.createSourceFile(file, source, language)
      : original.getSourceFile(file, language, ...rest);
  host.fileExists = (file) => resolve(file) === stub || original.fileExists(file);
  host.readFile = (file) => (resolve(file) === stub ? source : original.readFile(file));
  const program = ts.createProgram([stub], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  assert.equal(diagnostics.length, 0, ts.formatDiagnostics(diagnostics, host));
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(stub) as ts.SourceFile) as ts.Symbol;
  const types = new Map(
    unique.map((k, i) => {
      const alias = checker.getExportsOfModule(moduleSymbol).find((s) => s.name === `T${i}`) as ts.Symbol;
      return [key(k), checker.getDeclaredTypeOfSymbol(alias)];
    }),
  );

  const walk = (value: unknown, type: ts.Type, path: string, out: string[]): void => {
    if (typeof value !== 'object' || value === null) return;
    const t = checker.getNonNullableType(type);
    if (Array.isArray(value)) {
      const element = checker.getIndexTypeOfType(t, ts.IndexKind.Number);
      if (element) value.forEach((v, i) => walk(v, element, `${path}[${i}]`, out));
      return;
    }
    const shapes = (t.isUnion() ? t.types : [t]).filter((s) => (s.flags & ts.TypeFlags.Object) !== 0);
    let best: string[] | undefined;
    for (const shape of shapes) {
      const problems: string[] = [];
      const index = checker.getIndexInfoOfType(shape, ts.IndexKind.String);
      for (const [k, v] of Object.entries(value)) {
        const prop = checker.getPropertyOfType(shape, k);
        if (prop) walk(v, checker.getTypeOfSymbol(prop), `${path}.${k}`, problems);
        else if (index) walk(v, index.type, `${path}.${k}`, problems);
        else problems.push(`${path}.${k}`);
      }
      if (!best || problems.length < best.length) best = problems;
    }
    out.push(...(best ?? []));
  };
  return (o) => {
    const type = types.get(key(o));
    assert.ok(type, `no model type for ${key(o)}`);
    const out: string[] = [];
    walk(o, type, id(o), out);
    return out;
  };
}

/** `apps/v1` -> `kubernetes-models/apps/v1`, `v1` -> `kubernetes-models/v1`. */
function modelModule(apiVersion: string): string {
  return `kubernetes-models/${apiVersion}`;
}

function validateSchema(o: KObject): void {
  // kubernetes-models has one module per API group, chosen at run time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const models = require(modelModule(o.apiVersion)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[o.kind];
  assert.ok(Model, `kubernetes-models has no ${o.apiVersion} ${o.kind}`);
  try {
    new Model(o).validate();
  } catch (e) {
    assert.fail(`${id(o)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ---- NetworkPolicy evaluation -------------------------------------------------------------

interface Peer {
  readonly namespace: string;
  readonly namespaceLabels: Record<string, string>;
  readonly labels: Record<string, string>;
}
type Target = Peer | { readonly ip: string };

function podPeer(objects: KObject[], name: string): Peer {
  const w = workload(objects, name);
  const namespace = str(w.owner.metadata.namespace);
  const ns = objects.find((o) => o.kind === 'Namespace' && o.metadata.name === namespace);
  return {
    namespace,
    namespaceLabels: { ...(ns?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': namespace },
    labels: w.labels,
  };
}
function outsidePeer(namespace: string, labels: Record<string, string>): Peer {
  return { namespace, namespaceLabels: { 'kubernetes.io/metadata.name': namespace }, labels };
}

function ipv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  assert.ok(parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p < 256), `IPv4 ${ip}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
}

/** Does `policies` let traffic from `from` to `to` on port/protocol? (Both ends must allow it.) */
function allowed(policies: KObject[], from: Target, to: Target, port: number, protocol = 'TCP'): boolean {
  const side = (direction: 'Ingress' | 'Egress', subject: Target, other: Target): boolean => {
    if ('ip' in subject) return true; // outside the cluster: not ours to police
    const selecting = policies.filter((p) => {
      const types = list(get(p, 'spec', 'policyTypes'));
      const applies =
        types.length > 0
          ? types.includes(direction)
          : direction === 'Ingress' || get(p, 'spec', 'egress') !== undefined;
      return (
        p.metadata.namespace === subject.namespace &&
        applies &&
        selectorMatches(get(p, 'spec', 'podSelector'), subject.labels)
      );
    });
    if (selecting.length === 0) return true; // not isolated in this direction
    return selecting.some((p) =>
      records(get(p, 'spec', direction === 'Ingress' ? 'ingress' : 'egress')).some((rule) => {
        const peers = records(rule[direction === 'Ingress' ? 'from' : 'to']);
        const peerOk =
          peers.length === 0 ||
          peers.some((peer) => {
            if ('ip' in other) {
              const block = peer['ipBlock'];
              return (
                isRecord(block) &&
                inCidr(other.ip, str(block['cidr'])) &&
                !list(block['except']).some((e) => inCidr(other.ip, str(e)))
              );
            }
            if (peer['ipBlock']) return false;
            const nsSel = peer['namespaceSelector'];
            const podSel = peer['podSelector'];
            const nsOk =
              nsSel === undefined
                ? other.namespace === p.metadata.namespace
                : selectorMatches(nsSel, other.namespaceLabels);
            return nsOk && (podSel === undefined || selectorMatches(podSel, other.labels));
          });
        const ports = records(rule['ports']);
        const portOk =
          ports.length === 0 ||
          ports.some((pp) => {
            assert.ok(
              pp['port'] === undefined || typeof pp['port'] === 'number',
              'named ports in NetworkPolicies are not evaluated here; use numbers',
            );
            const lo = typeof pp['port'] === 'number' ? pp['port'] : undefined;
            const hi = typeof pp['endPort'] === 'number' ? pp['endPort'] : lo;
            return (
              (pp['protocol'] ?? 'TCP') === protocol && (lo === undefined || (port >= lo && port <= (hi as number)))
            );
          });
        return peerOk && portOk;
      }),
    );
  };
  return side('Egress', from, to) && side('Ingress', to, from);
}

// ---- the tests ----------------------------------------------------------------------------

test('every kustomization renders with kustomize-lite, and production has no duplicate objects', () => {
  for (const dir of ALL_KUSTOMIZATIONS) assert.ok(rendered(dir).objects.length > 0, `${dir} renders nothing`);
  const seen = new Set<string>();
  for (const o of prod) {
    const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    assert.ok(!seen.has(key), `${key} twice`);
    seen.add(key);
    if (o.kind === 'Namespace' || o.kind === 'PriorityClass')
      assert.equal(o.metadata.namespace, undefined, `${id(o)} is cluster-scoped`);
    else assert.equal(o.metadata.namespace, 'payment-callback', `${id(o)} namespace`);
  }
});

test('every object is valid against the Kubernetes OpenAPI schema, with no unknown fields', () => {
  const all = [...ALL_KUSTOMIZATIONS.flatMap((dir) => rendered(dir).objects), ...secretExamples];
  for (const o of all) validateSchema(o);
  const unknownFields = unknownFieldFinder([...all, { apiVersion: 'apps/v1', kind: 'Deployment' }]);
  // The finder must find: a misspelt probe in an otherwise valid Deployment.
  const typo = structuredClone(one(prod, 'Deployment', 'payment-callback-core'));
  (get(typo, 'spec', 'template', 'spec', 'containers', 0) as Record<string, unknown>)['readinesProbe'] = {};
  assert.deepEqual(unknownFields(typo), [
    'Deployment/payment-callback-core.spec.template.spec.containers[0].readinesProbe',
  ]);
  for (const o of all) assert.deepEqual(unknownFields(o), [], `${id(o)}: fields Kubernetes does not know`);
});

test('every image is pinned (no latest, no untagged), and core, gateway and migrate run one image', () => {
  const images = new Set<string>();
  for (const dir of ALL_KUSTOMIZATIONS) {
    for (const w of workloads(rendered(dir).objects)) {
      for (const c of w.containers) {
        const { name, tag, digest } = parseImage(str(c['image']));
        assert.ok(
          digest || (tag && tag !== 'latest'),
          `${dir} ${id(w.owner)}/${str(c['name'])}: image ${str(c['image'])} is not pinned`,
        );
        if (dir === PRODUCTION || dir === PRODUCTION_MIGRATE) images.add(`${name}:${tag ?? ''}`);
      }
    }
  }
  const ours = [...images].filter((i) => i.includes(`/${OUR_IMAGE}:`));
  assert.equal(ours.length, 1, `production runs one build of the service: ${ours.join(', ')}`);
  assert.ok(!docker.stages.some((s) => /:latest$|^[^:]+$/.test(s.image)), 'Dockerfile base images are pinned');
});

test('containers run as non-root on a read-only root filesystem, with resources', () => {
  for (const w of workloads(prod)) {
    assert.equal(w.spec['automountServiceAccountToken'], false, `${id(w.owner)}: no Kubernetes API token`);
    const podSc = isRecord(w.spec['securityContext']) ? w.spec['securityContext'] : {};
    for (const c of w.containers) {
      const where = `${id(w.owner)}/${str(c['name'])}`;
      const sc = isRecord(c['securityContext']) ? c['securityContext'] : {};
      const effective = (k: string): unknown => sc[k] ?? podSc[k];
      assert.equal(sc['readOnlyRootFilesystem'], true, `${where}: readOnlyRootFilesystem`);
      assert.equal(effective('runAsNonRoot'), true, `${where}: runAsNonRoot`);
      const uid = effective('runAsUser');
      assert.ok(typeof uid === 'number' && uid > 0, `${where}: a numeric non-root runAsUser`);
      assert.equal(sc['allowPrivilegeEscalation'], false, `${where}: allowPrivilegeEscalation`);
      assert.deepEqual(get(sc, 'capabilities', 'drop'), ['ALL'], `${where}: capabilities drop ALL`);
      assert.equal(get(effective('seccompProfile'), 'type'), 'RuntimeDefault', `${where}: seccomp`);
      for (const r of [
        'requests.cpu',
        'requests.memory',
        'limits.cpu',
        'limits.memory',
        'requests.ephemeral-storage',
        'limits.ephemeral-storage',
      ]) {
        assert.ok(get(c['resources'], ...r.split('.')), `${where}: resources.${r}`);
      }
      // Every emptyDir it writes fits in its ephemeral-storage limit (logs need room too).
      const ephemeralLimit = mebibytes(get(c['resources'], 'limits', 'ephemeral-storage'));
      for (const m of records(c['volumeMounts'])) {
        const size = get(
          records(w.spec['volumes']).find((x) => x['name'] === m['name']),
          'emptyDir',
          'sizeLimit',
        );
        if (size !== undefined)
          assert.ok(
            mebibytes(size) < ephemeralLimit,
            `${where}: emptyDir ${String(m['name'])} (${JSON.stringify(size)}) must fit in the ephemeral-storage limit`,
          );
      }
      // Node's heap is sized from the node's memory unless told: it must sit under the limit.
      if (parseImage(str(c['image'])).name.endsWith(`/${OUR_IMAGE}`)) {
        const flag = fullArgv(c, docker).find((a) => a.startsWith('--max-old-space-size='));
        assert.ok(flag, `${where}: node --max-old-space-size=<MiB> matched to the memory limit`);
        const heap = Number(flag.split('=')[1]);
        const limit = mebibytes(get(c['resources'], 'limits', 'memory'));
        assert.ok(
          heap >= limit * 0.5 && heap <= limit * 0.75,
          `${where}: heap ${heap} MiB should be 50-75 % of the ${limit} MiB limit (room for code, buffers, native memory)`,
        );
      }
      // The only writable mounts are emptyDirs (ConfigMap and Secret volumes are read-only).
      for (const m of records(c['volumeMounts'])) {
        const v = records(w.spec['volumes']).find((x) => x['name'] === m['name']);
        const projectedOk = records(get(v, 'projected', 'sources')).every((src) =>
          Object.keys(src).every((k) => k === 'configMap' || k === 'secret'),
        );
        assert.ok(
          v && (v['emptyDir'] || v['configMap'] || v['secret'] || (v['projected'] && projectedOk)),
          `${where}: volume ${String(m['name'])} is an emptyDir, ConfigMap or Secret`,
        );
      }
    }
  }
});

test('probes target ports their container declares; shutdown fits the grace period', () => {
  for (const w of workloads(prod)) {
    for (const c of w.containers) {
      const where = `${id(w.owner)}/${str(c['name'])}`;
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const p = c[probe];
        if (!isRecord(p)) continue;
        const port = get(p, 'grpc', 'port') ?? get(p, 'httpGet', 'port') ?? get(p, 'tcpSocket', 'port');
        if (port === undefined) assert.ok(p['exec'], `${where}: ${probe} has no handler`);
        else
          assert.ok(
            declaredPort(c, port) !== undefined,
            `${where}: ${probe} port ${JSON.stringify(port)} is not a port of this container`,
          );
      }
    }
  }
  // The core: readiness asks about the service (NOT_SERVING as soon as it drains), liveness
  // about the server; both on the gRPC port.
  const core = workload(prod, 'payment-callback-core').containers[0] as Record<string, unknown>;
  assert.deepEqual(get(core, 'readinessProbe', 'grpc'), {
    port: 50051,
    service: 'payment.callback.v1.PaymentCallback',
  });
  assert.deepEqual(get(core, 'livenessProbe', 'grpc'), { port: 50051, service: '' });

  for (const name of ['payment-callback-core', 'payment-callback-gateway']) {
    const w = workload(prod, name);
    const grace = w.spec['terminationGracePeriodSeconds'] as number;
    for (const c of w.containers) {
      const env = envOf(c, prod, secretExamples);
      const drainMs = Number(env.get('SHUTDOWN_GRACE_MS') ?? 0);
      const total = preStopSleepSeconds(c) + drainMs / 1000;
      // A couple of seconds' margin for closing pools after the drain.
      assert.ok(
        total + 2 <= grace,
        `${name}/${str(c['name'])}: preStop + SHUTDOWN_GRACE_MS (${total} s) must end before terminationGracePeriodSeconds (${grace} s)`,
      );
    }
  }
});

test('selectors match: workloads, Services, PodDisruptionBudgets, HPAs, NetworkPolicies', () => {
  const pods = workloads(prod);
  for (const w of pods) {
    const selector = get(w.owner, 'spec', 'selector');
    if (w.owner.kind !== 'Job')
      assert.ok(selectorMatches(selector, w.labels), `${id(w.owner)}: its selector does not match its own pods`);
  }
  for (const s of prod.filter((o) => o.kind === 'Service')) {
    const matched = pods.filter((w) => selectorMatches(get(s, 'spec', 'selector'), w.labels));
    assert.ok(matched.length > 0, `${id(s)} selects no pods`);
    for (const p of records(get(s, 'spec', 'ports'))) {
      for (const w of matched) {
        assert.ok(
          w.containers.some((c) => declaredPort(c, p['targetPort'] ?? p['port']) !== undefined),
          `${id(s)}: ${id(w.owner)} does not declare targetPort ${String(p['targetPort'])}`,
        );
      }
    }
  }
  for (const pdb of prod.filter((o) => o.kind === 'PodDisruptionBudget')) {
    assert.ok(
      pods.some((w) => selectorMatches(get(pdb, 'spec', 'selector'), w.labels)),
      `${id(pdb)} selects no pods`,
    );
  }
  for (const hpa of prod.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const target = one(
      prod,
      str(get(hpa, 'spec', 'scaleTargetRef', 'kind')),
      str(get(hpa, 'spec', 'scaleTargetRef', 'name')),
    );
    // The HPA owns the count: a replicas field would be re-applied by every `kubectl apply -k`,
    // scaling a busy workload back down.
    assert.equal(
      get(target, 'spec', 'replicas'),
      undefined,
      `${id(target)}: no spec.replicas, ${id(hpa)} owns the count`,
    );
    assert.ok(
      (get(hpa, 'spec', 'minReplicas') as number) >= 2,
      `${id(hpa)}: at least two replicas, so one node can go`,
    );
    // CPU utilisation is measured against requests: every container needs one.
    for (const c of workload(prod, target.metadata.name).containers)
      assert.ok(get(c, 'resources', 'requests', 'cpu'), `${id(target)}/${str(c['name'])}: cpu request`);
  }
  const covered = new Set(
    prod.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((h) => str(get(h, 'spec', 'scaleTargetRef', 'name'))),
  );
  assert.deepEqual([...covered].sort(), ['payment-callback-core', 'payment-callback-gateway']);

  for (const np of prod.filter((o) => o.kind === 'NetworkPolicy')) {
    const podSelector = get(np, 'spec', 'podSelector');
    const everyPod = isRecord(podSelector) && Object.keys(podSelector).length === 0;
    assert.ok(everyPod || pods.some((w) => selectorMatches(podSelector, w.labels)), `${id(np)} selects no pods`);
    // Peers in our own namespace (a podSelector without namespaceSelector) must exist too.
    for (const rule of [...records(get(np, 'spec', 'ingress')), ...records(get(np, 'spec', 'egress'))]) {
      for (const peer of records(rule['from'] ?? rule['to'])) {
        if (peer['podSelector'] && !peer['namespaceSelector']) {
          assert.ok(
            pods.some((w) => selectorMatches(peer['podSelector'], w.labels)),
            `${id(np)}: a peer selector matches no pods`,
          );
        }
      }
    }
  }
});

test('NetworkPolicies allow exactly the connections the configuration needs', () => {
  const policies = prod.filter((o) => o.kind === 'NetworkPolicy');
  const core = podPeer(prod, 'payment-callback-core');
  const gateway = podPeer(prod, 'payment-callback-gateway');
  const migrate = podPeer(prod, 'payment-callback-migrate');
  const redis = [podPeer(prod, 'redis')];
  const dns = outsidePeer('kube-system', { 'k8s-app': 'kube-dns' });
  const ingressController = outsidePeer('ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' });
  const prometheus = outsidePeer('monitoring', { 'app.kubernetes.io/name': 'prometheus' });
  const internalClient = outsidePeer('orders', { 'payment-callback.io/internal-client': 'true' });
  const stranger = outsidePeer('payment-callback', { app: 'debug' });

  const coreEnv = envOf(
    workload(prod, 'payment-callback-core').containers[0] as Record<string, unknown>,
    prod,
    secretExamples,
  );
  const gatewayEnv = envOf(
    workload(prod, 'payment-callback-gateway').containers.find((c) => c['name'] === 'gateway') as Record<
      string,
      unknown
    >,
    prod,
    secretExamples,
  );
  const grpcPort = resolveService(prod, str(gatewayEnv.get('CORE_GRPC_TARGET'))).targetPort;
  const metricsPort = hostPort(str(coreEnv.get('METRICS_LISTEN'))).port;
  const gatewayMetricsPort = hostPort(str(gatewayEnv.get('GATEWAY_METRICS_LISTEN'))).port;
  const redisPorts = str(coreEnv.get('REDIS_URLS'))
    .split(',')
    .map((u) => resolveService(prod, u).targetPort);
  const dbPort = hostPort(str(coreEnv.get('DATABASE_URL'))).port;
  const dbCidr = str(
    get(
      one(prod, 'NetworkPolicy', 'payment-callback-database-egress'),
      'spec',
      'egress',
      0,
      'to',
      0,
      'ipBlock',
      'cidr',
    ),
  );
  const database = { ip: dbCidr.split('/')[0] as string };
  const edgePort = resolveService(
    prod,
    `payment-callback-gateway:${String(get(one(prod, 'Service', 'payment-callback-gateway'), 'spec', 'ports', 0, 'port'))}`,
  ).targetPort;

  const must: Array<[string, Target, Target, number, string?]> = [
    ['ingress controller -> nginx', ingressController, gateway, edgePort],
    ['gateway -> core gRPC', gateway, core, grpcPort],
    ['internal client -> core gRPC', internalClient, core, grpcPort],
    ['prometheus -> core metrics', prometheus, core, metricsPort],
    ['prometheus -> gateway metrics', prometheus, gateway, gatewayMetricsPort],
    ...redisPorts.map((port, i): [string, Target, Target, number] => [
      `core -> redis-${i}`,
      core,
      redis[0] as Peer,
      port,
    ]),
    ['core -> database', core, database, dbPort],
    // wechat-egress is on in production: refund and payment confirmations call WeChat Pay.
    ['core -> WeChat Pay (a public address, 443)', core, { ip: '101.226.90.1' }, 443],
    ['migrate -> database', migrate, database, dbPort],
    ...[core, gateway, migrate].flatMap((p, i): Array<[string, Target, Target, number, string]> => [
      [`pod ${i} -> DNS (UDP)`, p, dns, 53, 'UDP'],
      [`pod ${i} -> DNS (TCP)`, p, dns, 53, 'TCP'],
    ]),
  ];
  const mustNot: Array<[string, Target, Target, number]> = [
    ['an unlabelled pod -> core gRPC', stranger, core, grpcPort],
    ['ingress controller -> core gRPC', ingressController, core, grpcPort],
    ['ingress controller -> gateway loopback port', ingressController, gateway, 8080],
    ['prometheus -> nginx', prometheus, gateway, edgePort],
    ['ingress controller -> gateway metrics', ingressController, gateway, gatewayMetricsPort],
    ['gateway -> redis', gateway, redis[0] as Peer, 6379],
    ['migrate -> redis', migrate, redis[0] as Peer, 6379],
    ['redis -> core', redis[0] as Peer, core, grpcPort],
    ['core -> the internet on port 80', core, { ip: '203.0.113.7' }, 80],
    ['core -> the cloud metadata service', core, { ip: '169.254.169.254' }, 443],
    ['core -> a private address on 443', core, { ip: '10.1.2.3' }, 443],
    ['gateway -> the internet', gateway, { ip: '203.0.113.7' }, 443],
    ['core -> database on another port', core, database, 3306],
    ['gateway -> database', gateway, database, dbPort],
  ];
  for (const [what, from, to, port, protocol] of must)
    assert.ok(allowed(policies, from, to, port, protocol), `must allow ${what} (${port})`);
  for (const [what, from, to, port] of mustNot)
    assert.ok(!allowed(policies, from, to, port), `must deny ${what} (${port})`);
});

test('overlay options (k8s/components): each renders on production, is offered there, and opens only its own path', () => {
  assert.deepEqual(COMPONENTS, ['ingress-host-network', 'node-local-dns', 'wechat-egress']);
  const overlay = readFileSync(at(PRODUCTION, 'kustomization.yaml'), 'utf8');
  for (const name of COMPONENTS)
    assert.ok(
      overlay.includes(`../../components/${name}`),
      `${PRODUCTION}/kustomization.yaml offers components/${name}`,
    );
  const policiesWith = (name: string): KObject[] => withComponent(name).filter((o) => o.kind === 'NetworkPolicy');
  const core = podPeer(prod, 'payment-callback-core');
  const gateway = podPeer(prod, 'payment-callback-gateway');
  const migrate = podPeer(prod, 'payment-callback-migrate');
  const base = prod.filter((o) => o.kind === 'NetworkPolicy');
  const nodeLocalDns = { ip: '169.254.20.10' };
  const hostNetworkController = {
    ip: str(
      get(
        readYaml(at('k8s/components/ingress-host-network/gateway-ingress.patch.yaml'))[0],
        0,
        'value',
        'ipBlock',
        'cidr',
      ),
    ).split('/')[0] as string,
  };
  const wechat = { ip: '101.226.90.1' };
  const cases: Array<{
    name: string;
    policies: KObject[];
    from: Target;
    to: Target;
    port: number;
    protocol?: string;
    allowed: boolean;
  }> = [
    ...[core, gateway, migrate].flatMap((p) =>
      ['UDP', 'TCP'].flatMap((protocol) => [
        { name: 'NodeLocal DNSCache', policies: base, from: p, to: nodeLocalDns, port: 53, protocol, allowed: false },
        {
          name: 'NodeLocal DNSCache',
          policies: policiesWith('node-local-dns'),
          from: p,
          to: nodeLocalDns,
          port: 53,
          protocol,
          allowed: true,
        },
      ]),
    ),
    {
      name: 'host-network controller -> nginx',
      policies: base,
      from: hostNetworkController,
      to: gateway,
      port: 8081,
      allowed: false,
    },
    {
      name: 'host-network controller -> nginx',
      policies: policiesWith('ingress-host-network'),
      from: hostNetworkController,
      to: gateway,
      port: 8081,
      allowed: true,
    },
    {
      name: 'host-network controller -> gateway metrics',
      policies: policiesWith('ingress-host-network'),
      from: hostNetworkController,
      to: gateway,
      port: 9465,
      allowed: false,
    },
    {
      name: 'core -> WeChat (on by default in production)',
      policies: base,
      from: core,
      to: wechat,
      port: 443,
      allowed: true,
    },
    {
      name: 'core -> WeChat',
      policies: policiesWith('wechat-egress'),
      from: core,
      to: wechat,
      port: 443,
      allowed: true,
    },
    {
      name: 'gateway -> WeChat',
      policies: policiesWith('wechat-egress'),
      from: gateway,
      to: wechat,
      port: 443,
      allowed: false,
    },
    {
      name: 'core -> cloud metadata',
      policies: policiesWith('wechat-egress'),
      from: core,
      to: { ip: '169.254.169.254' },
      port: 443,
      allowed: false,
    },
    {
      name: 'core -> a private address',
      policies: policiesWith('wechat-egress'),
      from: core,
      to: { ip: '10.1.2.3' },
      port: 443,
      allowed: false,
    },
    {
      name: 'core -> WeChat on port 80',
      policies: policiesWith('wechat-egress'),
      from: core,
      to: wechat,
      port: 80,
      allowed: false,
    },
  ];
  for (const c of cases) {
    assert.equal(
      allowed(c.policies, c.from, c.to, c.port, c.protocol),
      c.allowed,
      `${c.name} (${c.port}/${c.protocol ?? 'TCP'}) should be ${c.allowed ? 'allowed' : 'denied'}`,
    );
  }
  for (const name of COMPONENTS) {
    for (const o of withComponent(name)) {
      validateSchema(o);
      if (o.kind !== 'Namespace' && o.kind !== 'PriorityClass')
        assert.equal(o.metadata.namespace, 'payment-callback', `components/${name}: ${id(o)} namespace`);
    }
  }
});

test('nothing names the cluster domain: cluster.local is only a default', () => {
  for (const dir of ALL_KUSTOMIZATIONS) {
    assert.doesNotMatch(JSON.stringify(rendered(dir).objects), /cluster\.local/, `${dir} hard-codes cluster.local`);
  }
  assert.doesNotMatch(JSON.stringify(secretExamples), /cluster\.local/, 'secret.example.yaml hard-codes cluster.local');
});

test('env holds only variables the code reads, and the code accepts it', () => {
  for (const w of workloads(prod)) {
    for (const c of w.containers.filter((x) => parseImage(str(x['image'])).name.endsWith(`/${OUR_IMAGE}`))) {
      const program = argv(c, docker)[1] as string;
      const allowedVars: readonly string[] = CORE_PROGRAMS.has(program) ? CORE_ENV_VARS : GATEWAY_ENV_VARS;
      const env = envOf(c, prod, secretExamples);
      for (const name of env.keys())
        assert.ok(allowedVars.includes(name), `${id(w.owner)}: ${name} is not read by ${program}`);
    }
  }
  // Every env ConfigMap, key by key (a ConfigMap may also be mounted as files: merchants, nginx).
  for (const cm of prod.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.includes('-env-'))) {
    const vars: readonly string[] = cm.metadata.name.startsWith('payment-callback-core-env')
      ? CORE_ENV_VARS
      : GATEWAY_ENV_VARS;
    for (const k of Object.keys(get(cm, 'data') as object))
      assert.ok(vars.includes(k), `${id(cm)}: ${k} is not an env var the code reads`);
  }

  // The code's own readers, on the rendered env and the files each container would see. The
  // example Secrets' placeholders are refused (so applying the example cannot go unnoticed);
  // with well-formed values in their place the configuration must load.
  const loadCore = (secrets: KObject[]): ReturnType<typeof readCoreConfig> => {
    const w = workload(prod, 'payment-callback-core');
    const c = w.containers[0] as Record<string, unknown>;
    return readCoreConfig(
      Object.fromEntries(envOf(c, prod, secrets)),
      fileReader(mountedFiles(w, c, prod, secrets), 'core'),
    );
  };
  const loadGateway = (secrets: KObject[]): ReturnType<typeof readGatewayConfig> => {
    const w = workload(prod, 'payment-callback-gateway');
    const c = w.containers.find((x) => x['name'] === 'gateway') as Record<string, unknown>;
    return readGatewayConfig(
      Object.fromEntries(envOf(c, prod, secrets)),
      fileReader(mountedFiles(w, c, prod, secrets), 'gateway'),
    );
  };
  assert.throws(
    () => loadCore(secretExamples),
    (e: unknown) => e instanceof ConfigError && /API key/.test(e.message) && /token/.test(e.message),
  );
  assert.throws(
    () => loadGateway(secretExamples),
    (e: unknown) => e instanceof ConfigError && /token/.test(e.message),
  );

  const config = loadCore(filledSecrets);
  const coreW = workload(prod, 'payment-callback-core');
  const coreC = coreW.containers[0] as Record<string, unknown>;
  assert.equal(config.env, 'production');
  assert.equal(config.database.client, 'pg', 'no SQLite in Kubernetes: the root filesystem is read-only');
  assert.equal(config.redisUrls.length, 3);
  assert.equal(declaredPort(coreC, config.grpcListen.port), config.grpcListen.port, 'GRPC_LISTEN port is declared');
  assert.equal(config.grpcListen.host, '0.0.0.0', 'the core listens on the pod IP');
  assert.equal(config.tls, undefined, 'the gRPC probes and the gateway speak plaintext h2c to the core');
  assert.ok(
    config.publicServices.includes('grpc.health.v1.Health'),
    "kubelet's gRPC probes send no token: health must stay public",
  );
  const metrics = config.metricsListen;
  assert.ok(metrics && declaredPort(coreC, 'metrics') === metrics.port, 'METRICS_LISTEN is the metrics port');
  assert.equal(coreW.annotations['prometheus.io/port'], String(metrics.port));
  assert.equal(coreW.annotations['prometheus.io/scrape'], 'true');

  const gatewayConfig = loadGateway(filledSecrets);
  const gatewayW = workload(prod, 'payment-callback-gateway');
  const gatewayC = gatewayW.containers.find((c) => c['name'] === 'gateway') as Record<string, unknown>;
  assert.equal(gatewayConfig.listen.host, '127.0.0.1', 'only nginx in the same pod reaches the gateway');
  assert.match(gatewayConfig.coreTarget, /^dns:\/\/\//, 'the gateway resolves every core pod (round_robin)');
  assert.equal(
    get(resolveService(prod, gatewayConfig.coreTarget).service, 'spec', 'clusterIP'),
    'None',
    'CORE_GRPC_TARGET is the headless Service',
  );
  const caller = config.callers.find((c) => c.token === gatewayConfig.coreToken);
  assert.ok(caller?.scopes.includes('notify'), "the gateway's token is a core caller with the notify scope");
  assert.equal(gatewayConfig.coreTls === undefined, config.tls === undefined, 'TLS on both ends or neither');
  const gatewayMetrics = gatewayConfig.metricsListen;
  assert.ok(
    gatewayMetrics && declaredPort(gatewayC, 'metrics') === gatewayMetrics.port,
    "GATEWAY_METRICS_LISTEN is the gateway's metrics port",
  );
  assert.equal(gatewayW.annotations['prometheus.io/port'], String(gatewayMetrics.port));
  // Liveness is an HTTP probe on the metrics server of the same process (the notify port is on
  // loopback), not a second Node process started inside the container's memory limit.
  assert.deepEqual(get(gatewayC, 'livenessProbe', 'httpGet'), { path: '/livez', port: 'metrics' });
  assert.equal(get(gatewayC, 'livenessProbe', 'exec'), undefined);
});

test('Secrets come from secret.example.yaml, which no kustomization applies', () => {
  const example = at('k8s/base/secret.example.yaml');
  for (const dir of ALL_KUSTOMIZATIONS)
    assert.ok(!rendered(dir).files.has(example), `${dir} must not include secret.example.yaml`);
  assert.ok(!prod.some((o) => o.kind === 'Secret'), 'no Secret is rendered: they are created by hand');
  const wanted = new Set<string>();
  for (const w of workloads(prod)) {
    for (const v of records(w.spec['volumes'])) {
      const name = str(get(v, 'secret', 'secretName'));
      const items = records(get(v, 'secret', 'items'));
      if (name)
        for (const key of items.length > 0 ? items.map((i) => str(i['key'])) : ['*']) wanted.add(`${name}/${key}`);
    }
    for (const c of w.containers) {
      for (const e of records(c['env'])) {
        const ref = get(e, 'valueFrom', 'secretKeyRef');
        if (isRecord(ref)) wanted.add(`${str(ref['name'])}/${str(ref['key'])}`);
      }
    }
  }
  for (const want of wanted) {
    const [name, key] = want.split('/') as [string, string];
    const secret = one(secretExamples, 'Secret', name);
    assert.ok(
      key === '*' || (isRecord(get(secret, 'stringData')) && key in (get(secret, 'stringData') as object)),
      `secret.example.yaml: ${want}`,
    );
  }
  const tls = str(get(one(prod, 'Ingress', 'payment-callback'), 'spec', 'tls', 0, 'secretName'));
  assert.ok(
    readFileSync(example, 'utf8').includes(`create secret tls ${tls}`),
    'secret.example.yaml tells how to create the TLS Secret',
  );
});

test('the Ingress exposes only the notify paths (v2 payment, v2 refund, v3), with TLS and the body limit', () => {
  const ingress = one(prod, 'Ingress', 'payment-callback');
  const paths = records(get(ingress, 'spec', 'rules')).flatMap((r) => records(get(r, 'http', 'paths')));
  const gatewayEnv = envOf(
    workload(prod, 'payment-callback-gateway').containers.find((c) => c['name'] === 'gateway') as Record<
      string,
      unknown
    >,
    prod,
    secretExamples,
  );
  assert.deepEqual(
    paths.map((p) => p['path']),
    [
      gatewayEnv.get('NOTIFY_PATH') ?? '/wxpay/notify',
      gatewayEnv.get('REFUND_NOTIFY_PATH') ?? '/wxpay/refund/notify',
      gatewayEnv.get('V3_NOTIFY_PATH') ?? '/wxpay/v3/notify',
    ],
  );
  assert.ok(paths.every((p) => p['pathType'] === 'Exact'));
  const service = one(prod, 'Service', str(get(paths[0], 'backend', 'service', 'name')));
  assert.ok(
    records(get(service, 'spec', 'ports')).some(
      (p) => p['name'] === get(paths[0], 'backend', 'service', 'port', 'name'),
    ),
    'the backend port exists',
  );
  const hosts = records(get(ingress, 'spec', 'rules')).map((r) => r['host']);
  assert.deepEqual(get(ingress, 'spec', 'tls', 0, 'hosts'), hosts, 'TLS covers every host');
  assert.equal(
    bytes(str(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size'])),
    Number(gatewayEnv.get('BODY_LIMIT_BYTES')),
  );
});

test('Redis for Redlock: one StatefulSet of three independent nodes, updated one at a time, spread, with a password', () => {
  const coreC = workload(prod, 'payment-callback-core').containers[0] as Record<string, unknown>;
  const coreEnv = envOf(coreC, prod, secretExamples);
  // REDIS_URLS carries the password: it comes from a Secret, never from a ConfigMap.
  const redisUrlsRef = get(
    records(coreC['env']).find((e) => e['name'] === 'REDIS_URLS'),
    'valueFrom',
    'secretKeyRef',
  );
  assert.deepEqual(redisUrlsRef, { name: 'payment-callback-redis', key: 'REDIS_URLS' });
  for (const cm of prod.filter((o) => o.kind === 'ConfigMap'))
    assert.ok(!('REDIS_URLS' in (get(cm, 'data') as object)), `${id(cm)} must not hold REDIS_URLS`);
  const urls = str(coreEnv.get('REDIS_URLS')).split(',');
  assert.equal(urls.length, 3);
  const nodes = urls.map((u) => resolveService(prod, u));
  assert.deepEqual(
    nodes.map((n) => n.pod),
    ['redis-0', 'redis-1', 'redis-2'],
    'each URL names its own pod',
  );
  for (const u of urls) assert.match(u, /^redis:\/\/:[^@]+@/, 'each URL authenticates (requirepass)');
  const sts = one(prod, 'StatefulSet', 'redis');
  assert.equal(get(sts, 'spec', 'replicas'), 3);
  assert.equal(get(sts, 'spec', 'podManagementPolicy'), 'OrderedReady');
  assert.equal(
    get(sts, 'spec', 'updateStrategy', 'type'),
    'RollingUpdate',
    'a template change replaces one node at a time',
  );
  assert.ok(
    [undefined, 1].includes(
      get(sts, 'spec', 'updateStrategy', 'rollingUpdate', 'maxUnavailable') as number | undefined,
    ),
    'never two nodes down in an update',
  );
  assert.ok((get(sts, 'spec', 'minReadySeconds') as number) > 0);
  assert.equal(
    get(sts, 'spec', 'volumeClaimTemplates'),
    undefined,
    'no persistence: the delayed start makes a restart safe',
  );
  const pdb = prod.find(
    (o) =>
      o.kind === 'PodDisruptionBudget' && selectorMatches(get(o, 'spec', 'selector'), workload(prod, 'redis').labels),
  );
  assert.equal(get(pdb, 'spec', 'maxUnavailable'), 1, 'a drain takes at most one node');
  const w = workload(prod, 'redis');
  const spread = records(w.spec['topologySpreadConstraints']);
  for (const key of ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']) {
    assert.ok(
      spread.some((c) => c['topologyKey'] === key && c['maxSkew'] === 1 && c['whenUnsatisfiable'] === 'DoNotSchedule'),
      `redis spread over ${key}`,
    );
  }
  const c = w.containers[0] as Record<string, unknown>;
  const script = list(c['command']).join(' ');
  assert.doesNotMatch(script, /--replicaof|--slaveof/, 'no replication');
  assert.match(script, /requirepass \$REDIS_PASSWORD/, 'requirepass from the Secret');
  assert.match(script, /exec redis-server - /, 'the password arrives on stdin, not on the command line');
  const delay = Number(/sleep (\d+)/.exec(script)?.[1] ?? 0);
  assert.ok(delay * 1000 > Number(coreEnv.get('LOCK_TTL_MS')), `the start delay (${delay} s) must exceed LOCK_TTL_MS`);
  const env = new Map(records(c['env']).map((e) => [str(e['name']), get(e, 'valueFrom', 'secretKeyRef')]));
  assert.deepEqual(env.get('REDIS_PASSWORD'), { name: 'payment-callback-redis', key: 'password' });
  assert.deepEqual(
    env.get('REDISCLI_AUTH'),
    { name: 'payment-callback-redis', key: 'password' },
    'the readiness probe authenticates',
  );
  // The pinned release fixes CVE-2025-21605 (7.4.3) and CVE-2025-49844 (7.4.6).
  const [major, minor, patch] = (parseImage(str(c['image'])).tag ?? '').split('.').map(Number) as [
    number,
    number,
    number,
  ];
  assert.ok(major === 7 && minor === 4 && patch >= 6, `redis ${str(c['image'])}: 7.4.6 or later`);
});

test('the migration Job runs migrate.js and is applied on its own, before the rollout', () => {
  assert.ok(
    !rendered(PRODUCTION).objects.some((o) => o.kind === 'Job'),
    'the Job is not in the main overlay (its template is immutable)',
  );
  const job = one(rendered(PRODUCTION_MIGRATE).objects, 'Job', 'payment-callback-migrate');
  assert.equal(get(job, 'spec', 'template', 'spec', 'restartPolicy'), 'Never');
  const c = workload([job], job.metadata.name).containers[0] as Record<string, unknown>;
  assert.deepEqual(argv(c, docker), ['node', 'dist/src/cli/migrate.js']);
  // The Job migrates with the schema owner's credentials; the core with a DML-only role and
  // MIGRATE_ON_START=false, so only the Job ever runs DDL.
  const secretOf = (container: Record<string, unknown>): unknown =>
    get(
      records(container['env']).find((e) => e['name'] === 'DATABASE_URL'),
      'valueFrom',
      'secretKeyRef',
      'name',
    );
  const coreC = workload(prod, 'payment-callback-core').containers[0] as Record<string, unknown>;
  assert.equal(secretOf(c), 'payment-callback-database-migrate');
  assert.equal(secretOf(coreC), 'payment-callback-database');
  assert.equal(envOf(coreC, prod, secretExamples).get('MIGRATE_ON_START'), 'false');
  // Both verify the database server's certificate against the mounted CA.
  for (const [who, container, w] of [
    ['migrate', c, workload([job], job.metadata.name)],
    ['core', coreC, workload(prod, 'payment-callback-core')],
  ] as const) {
    const url = new URL(str(envOf(container, prod, secretExamples).get('DATABASE_URL')));
    assert.equal(url.searchParams.get('sslmode'), 'verify-full', `${who}: sslmode=verify-full`);
    const ca = str(url.searchParams.get('sslrootcert'));
    assert.ok(mountedFiles(w, container, prod, secretExamples).has(ca), `${who}: sslrootcert ${ca} is mounted`);
  }
  // No priority class: a migration may wait for room and must never preempt anything.
  assert.equal(get(job, 'spec', 'template', 'spec', 'priorityClassName'), undefined);
});

test('k8s/base/nginx.conf is a byte-for-byte copy of gateway/nginx.conf, and fits the pod', () => {
  assert.ok(existsSync(at('gateway/nginx.conf')), 'gateway/nginx.conf is missing');
  assert.ok(
    readFileSync(at('k8s/base/nginx.conf')).equals(readFileSync(at('gateway/nginx.conf'))),
    'k8s/base/nginx.conf differs from gateway/nginx.conf: cp gateway/nginx.conf k8s/base/nginx.conf',
  );
  const conf = readFileSync(at('gateway/nginx.conf'), 'utf8').replace(/#.*$/gm, '');
  const w = workload(prod, 'payment-callback-gateway');
  const nginx = w.containers.find((c) => c['name'] === 'nginx') as Record<string, unknown>;
  const gatewayEnv = envOf(
    w.containers.find((c) => c['name'] === 'gateway') as Record<string, unknown>,
    prod,
    secretExamples,
  );
  const listen = Number(/^\s*listen\s+(\d+)/m.exec(conf)?.[1]);
  assert.equal(declaredPort(nginx, listen), listen, 'nginx listens on its declared port');
  assert.ok(
    new RegExp(`server\\s+${gatewayEnv.get('GATEWAY_LISTEN')?.replace(/\./g, '\\.')};`).test(conf),
    'nginx proxies to GATEWAY_LISTEN',
  );
  const notifyLocation =
    /location ~ \^\/wxpay\/\(([^)]*)\)\$ \{/
      .exec(conf)?.[1]
      ?.split('|')
      .map((p) => `/wxpay/${p}`) ?? [];
  for (const name of ['NOTIFY_PATH', 'REFUND_NOTIFY_PATH', 'V3_NOTIFY_PATH']) {
    assert.ok(notifyLocation.includes(gatewayEnv.get(name) ?? ''), `nginx serves ${name}`);
  }
  assert.equal(
    bytes(/client_max_body_size\s+(\w+);/.exec(conf)?.[1] ?? ''),
    Number(gatewayEnv.get('BODY_LIMIT_BYTES')),
  );
  // The root filesystem is read-only: every file nginx writes must be on the /tmp emptyDir.
  const writable = records(nginx['volumeMounts'])
    .filter((m) => records(w.spec['volumes']).some((v) => v['name'] === m['name'] && v['emptyDir']))
    .map((m) => str(m['mountPath']));
  for (const m of conf.matchAll(/^\s*(pid|\w+_temp_path|access_log|error_log)\s+(\S+?)[\s;]/gm)) {
    const path = m[2] as string;
    // `stderr` and `syslog:` are nginx's own non-file targets.
    assert.ok(
      ['off', 'stderr'].includes(path) ||
        /^(\/dev\/std|syslog:)/.test(path) ||
        writable.some((d) => path.startsWith(`${d}/`)),
      `nginx ${m[1]} ${path} is not writable in the pod`,
    );
  }
  const command = list(nginx['command']).map(String);
  const configFile = command[command.indexOf('-c') + 1] ?? '';
  const files = mountedFiles(w, nginx, prod, secretExamples);
  assert.equal(
    files.get(configFile),
    readFileSync(at('gateway/nginx.conf'), 'utf8'),
    'nginx runs the mounted nginx.conf',
  );

  // set_real_ip_from is the overlay's: the pattern nginx.conf includes finds its real-ip.conf.
  const include = /^\s*include\s+(\S+real-ip\S*);/m.exec(conf)?.[1] ?? '';
  assert.equal(dirname(include), dirname(configFile), 'real-ip.conf is included from beside nginx.conf');
  const pattern = new RegExp(`^${include.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
  const realIp = [...files.keys()].filter((f) => pattern.test(f));
  assert.equal(realIp.length, 1, `the overlay mounts one ${include}`);
  const realIpText = (files.get(realIp[0] as string) ?? '').replace(/#.*$/gm, '');
  assert.match(realIpText, /^\s*set_real_ip_from\s+\d+\.\d+\.\d+\.\d+\/\d+;/m);
  assert.doesNotMatch(
    conf,
    /set_real_ip_from\s+(?!127\.0\.0\.1;)/,
    "nginx.conf itself trusts only loopback; networks are the overlay's",
  );

  // Worker count and keep-alives, set deliberately (the reasons are in nginx.conf).
  const workers = /^\s*worker_processes\s+(\S+);/m.exec(conf)?.[1];
  assert.match(
    workers ?? '',
    /^\d+$/,
    'worker_processes is a number: "auto" follows the node\'s CPUs, not the container\'s limit',
  );
  const cpuLimit =
    Number(str(get(nginx, 'resources', 'limits', 'cpu')).replace(/m$/, '')) /
    (str(get(nginx, 'resources', 'limits', 'cpu')).endsWith('m') ? 1000 : 1);
  assert.ok(
    Number(workers) <= Math.max(1, Math.ceil(cpuLimit)),
    `worker_processes ${String(workers)} for a ${cpuLimit} CPU limit`,
  );
  const seconds = (re: RegExp, what: string): number => {
    const m = re.exec(conf);
    assert.ok(m, `nginx.conf sets ${what} in seconds`);
    return Number(m[1]);
  };
  const downstream = seconds(/\bserver \{[\s\S]*?\n\s*keepalive_timeout\s+(\d+)s;/, "the server's keepalive_timeout");
  assert.ok(
    downstream > INGRESS_NGINX_UPSTREAM_KEEPALIVE_S,
    `keepalive_timeout ${downstream} s must outlast ingress-nginx's upstream-keepalive-timeout (${INGRESS_NGINX_UPSTREAM_KEEPALIVE_S} s)`,
  );
  const upstream = seconds(
    /upstream payment_callback_gateway \{[^}]*keepalive_timeout\s+(\d+)s;/,
    'the upstream keepalive_timeout',
  );
  assert.ok(
    upstream * 1000 < GATEWAY_KEEP_ALIVE_MS,
    `the upstream keepalive_timeout (${upstream} s) must end before the gateway's keepAliveTimeout (${GATEWAY_KEEP_ALIVE_MS} ms)`,
  );
  const shutdown = seconds(/^\s*worker_shutdown_timeout\s+(\d+)s;/m, 'worker_shutdown_timeout');
  assert.ok(
    preStopSleepSeconds(nginx) + shutdown + 2 <= (w.spec['terminationGracePeriodSeconds'] as number),
    'preStop + worker_shutdown_timeout fit in the grace period',
  );
  // The Ingress's X-Request-Id goes on to the gateway when well-formed (test/e2e checks it live).
  assert.match(conf, /proxy_set_header X-Request-Id \$notify_request_id;/);
  assert.match(conf, /map \$http_x_request_id \$notify_request_id/);
  assert.doesNotMatch(
    conf,
    /\$request_uri|\$request\b|\$args|\$query_string/,
    'no query strings in the log (or anywhere)',
  );
});

test('Dockerfile: two stages, real COPY sources, non-root numeric USER, compiled entry points', () => {
  assert.equal(docker.stages.length, 2);
  const [buildStage, runtime] = docker.stages as [DockerStage, DockerStage];
  // A maintained Node LTS, pinned to a full version (or a digest), the same in both stages, so
  // better-sqlite3's native addon is built for the Node that runs it.
  const images = new Set(docker.stages.map((s) => s.image));
  assert.equal(images.size, 1, 'build and runtime use the same Node image');
  const m = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/.exec([...images][0] as string);
  assert.ok(m, `${[...images][0]}: node:<major.minor.patch>-<debian>-slim[@sha256:...]`);
  const major = Number(m[1]);
  assert.ok(
    major % 2 === 0 && major >= 22,
    `Node ${major}: an LTS line that is still supported (Node 20 ended 2026-04-30)`,
  );
  assert.ok(
    buildStage.runs.some((r) => /apt-get install.*python3.*make.*g\+\+/.test(r)),
    'build tools for better-sqlite3',
  );
  const buildSteps = buildStage.runs.join('\n');
  for (const step of ['npm ci', 'npx tsc -p tsconfig.json', 'npm prune --omit=dev'])
    assert.ok(buildSteps.includes(step), `build stage runs ${step}`);

  // Context sources exist and survive .dockerignore; stage sources are what that stage has.
  const builtInBuild = new Set(['dist', 'node_modules']); // produced by npx tsc and npm ci
  const inBuildStage = new Set([...builtInBuild, ...buildStage.copies.flatMap((c) => c.sources)]);
  for (const stage of docker.stages) {
    for (const copy of stage.copies) {
      for (const source of copy.sources) {
        if (copy.from) {
          assert.equal(copy.from, buildStage.name);
          const rel = relative(buildStage.workdir, source);
          assert.ok(inBuildStage.has(rel), `COPY --from=${copy.from} ${source}: the build stage has no ${rel}`);
        } else {
          assert.ok(existsSync(at(source)), `COPY ${source}: no such file in the repository`);
          assert.ok(!dockerIgnored(dockerignore, source), `COPY ${source}: excluded by .dockerignore`);
        }
      }
    }
  }
  for (const needed of [
    ...Object.values(ENTRY_POINTS),
    'package-lock.json',
    'tsconfig.json',
    'proto/payment/callback/v1/payment_callback.proto',
    'src/gen',
  ]) {
    assert.ok(!dockerIgnored(dockerignore, needed), `.dockerignore must not exclude ${needed}`);
  }
  for (const local of ['node_modules', 'dist', '.git', 'data/payment-callback.sqlite'])
    assert.ok(dockerIgnored(dockerignore, local), `.dockerignore must exclude ${local}`);

  // The runtime has exactly: production node_modules, dist/, proto/, package.json, config/.
  const runtimeFiles = runtime.copies.flatMap((c) => c.targets.map((t) => relative(runtime.workdir, t))).sort();
  assert.deepEqual(runtimeFiles, ['config', 'dist', 'node_modules', 'package.json', 'proto']);
  // Reflection reads <root>/proto relative to dist/src/server: proto/ must sit beside dist/.
  assert.equal(relative(ROOT, PROTO_ROOT), 'proto');

  assert.match(runtime.user ?? '', /^[1-9]\d*(:\d+)?$/, 'USER is a numeric, non-zero uid');
  assert.deepEqual(docker.entrypoint, ['node']);
  const programs = new Set<string>([docker.cmd[0] as string]);
  for (const w of workloads(prod)) {
    for (const c of w.containers.filter((x) => parseImage(str(x['image'])).name.endsWith(`/${OUR_IMAGE}`))) {
      assert.equal(c['workingDir'], undefined, `${id(w.owner)}: runs in the image's WORKDIR`);
      const [node, script] = argv(c, docker);
      assert.equal(node, 'node', `${id(w.owner)} runs node`);
      programs.add(script as string);
    }
  }
  assert.deepEqual(
    [...programs].sort(),
    Object.keys(ENTRY_POINTS).sort(),
    'the image default and the workloads run exactly the three programs',
  );
  for (const script of programs) {
    const source = ENTRY_POINTS[script] as string;
    assert.ok(existsSync(at(source)), `${script} is compiled from ${source}, which does not exist`);
    assert.ok(existsSync(at(script)), `${script} was not produced by npx tsc`);
  }
  assert.ok(!docker.healthcheck, 'no HEALTHCHECK: Kubernetes probes each program (see the Dockerfile comment)');
});

test("gateway/envoy.yaml is a valid Envoy v3 bootstrap, decoded strictly against Envoy's API", () => {
  // test/deploy/fixtures/envoy-v3-api.pb: Envoy's v3 API protos as a FileDescriptorSet (the
  // data-plane-api of January 2026: bootstrap, the HTTP connection manager, the router, buffer,
  // health_check and local_ratelimit filters, the file and stream access loggers,
  // req_without_query, tls and upstreams/http). Every field name, type, enum value and
  // typed_config must be known; a typed_config of another extension is refused as unknown.
  const registry = createFileRegistry(
    fromBinary(FileDescriptorSetSchema, readFileSync(at('test/deploy/fixtures/envoy-v3-api.pb'))),
  );
  const bootstrap = registry.getMessage('envoy.config.bootstrap.v3.Bootstrap');
  assert.ok(bootstrap);
  const decode = (doc: unknown): void => {
    fromJson(bootstrap, doc as JsonValue, { registry, ignoreUnknownFields: false });
  };
  decode(readYaml(at('gateway/envoy.yaml'))[0]);
  // The check must catch: a misspelt field, and a wrong enum value.
  const typo = structuredClone(readYaml(at('gateway/envoy.yaml'))[0]) as Record<string, unknown>;
  (get(typo, 'static_resources', 'clusters', 0) as Record<string, unknown>)['conect_timeout'] = '1s';
  assert.throws(() => decode(typo), /conect_timeout/);
  const badEnum = structuredClone(readYaml(at('gateway/envoy.yaml'))[0]) as Record<string, unknown>;
  (get(badEnum, 'static_resources', 'clusters', 0) as Record<string, unknown>)['type'] = 'STATICK';
  assert.throws(() => decode(badEnum));
});

test("gateway/envoy.yaml: the notify route, the 64 KiB buffer, nginx's 4 s timeout, 404 elsewhere, admin on loopback", () => {
  const envoy = readYaml(at('gateway/envoy.yaml'))[0];
  // Admin only on loopback: the preStop drains through it; nothing outside the pod reaches it.
  assert.equal(get(envoy, 'admin', 'address', 'socket_address', 'address'), '127.0.0.1');
  assert.match(
    readFileSync(at('gateway/envoy.yaml'), 'utf8'),
    new RegExp(
      `drain_listeners\\?graceful.*127\\.0\\.0\\.1:${String(get(envoy, 'admin', 'address', 'socket_address', 'port_value'))}|127\\.0\\.0\\.1:${String(get(envoy, 'admin', 'address', 'socket_address', 'port_value'))}/drain_listeners\\?graceful`,
    ),
    'the documented preStop drains through the admin port',
  );
  const listener = get(envoy, 'static_resources', 'listeners', 0);
  const gatewayW = workload(prod, 'payment-callback-gateway');
  const nginx = gatewayW.containers.find((c) => c['name'] === 'nginx') as Record<string, unknown>;
  const gatewayEnv = envOf(
    gatewayW.containers.find((c) => c['name'] === 'gateway') as Record<string, unknown>,
    prod,
    secretExamples,
  );
  const port = get(listener, 'address', 'socket_address', 'port_value');
  assert.equal(declaredPort(nginx, port), port, 'Envoy listens where nginx does, so it can take its place');

  const hcm = get(listener, 'filter_chains', 0, 'filters', 0, 'typed_config');
  assert.equal(get(hcm, 'use_remote_address'), true);
  assert.equal(typeof get(hcm, 'xff_num_trusted_hops'), 'number');
  const filters = records(get(hcm, 'http_filters'));
  assert.deepEqual(
    filters.map((f) => f['name']),
    ['envoy.filters.http.buffer', 'envoy.filters.http.router'],
  );
  assert.equal(get(filters[0], 'typed_config', 'max_request_bytes'), Number(gatewayEnv.get('BODY_LIMIT_BYTES')));
  assert.equal(get(filters[0], 'typed_config', 'max_request_bytes'), 65536);

  const routes = records(get(hcm, 'route_config', 'virtual_hosts', 0, 'routes'));
  const notify = routes[0];
  assert.equal(get(notify, 'match', 'path'), gatewayEnv.get('NOTIFY_PATH'), 'the first route is the exact notify path');
  assert.deepEqual(get(notify, 'match', 'headers'), [{ name: ':method', string_match: { exact: 'POST' } }]);
  const timeout = durationMs(get(notify, 'route', 'timeout'));
  assert.ok(timeout < WECHAT_TIMEOUT_MS, `route timeout ${timeout} ms must be under WeChat's 5 s`);
  const nginxRead =
    Number(/proxy_read_timeout\s+(\d+)s;/.exec(readFileSync(at('gateway/nginx.conf'), 'utf8'))?.[1]) * 1000;
  for (const r of routes.filter((x) => get(x, 'route', 'cluster') && get(x, 'match', 'path') !== '/healthz')) {
    assert.equal(
      durationMs(get(r, 'route', 'timeout')),
      nginxRead,
      `${str(get(r, 'match', 'path'))}: the same budget as nginx's proxy_read_timeout`,
    );
  }
  assert.equal(get(hcm, 'preserve_external_request_id'), true, "the Ingress's X-Request-Id is kept");
  const idle = durationMs(get(hcm, 'common_http_protocol_options', 'idle_timeout'));
  assert.ok(
    idle > INGRESS_NGINX_UPSTREAM_KEEPALIVE_S * 1000,
    `downstream idle_timeout ${idle} ms must outlast ingress-nginx's keep-alive`,
  );
  assert.ok(
    timeout > Number(gatewayEnv.get('CORE_DEADLINE_MS')),
    "and above the gateway's core deadline, so its FAIL reply gets through",
  );
  assert.equal(get(notify, 'route', 'retry_policy'), undefined, 'no proxy retries of a notification');
  assert.ok(
    routes.some(
      (r) => get(r, 'match', 'path') === '/healthz' && get(r, 'route', 'cluster') === get(notify, 'route', 'cluster'),
    ),
  );
  const last = routes[routes.length - 1];
  assert.equal(get(last, 'match', 'prefix'), '/');
  assert.equal(get(last, 'direct_response', 'status'), 404);

  const cluster = records(get(envoy, 'static_resources', 'clusters')).find(
    (c) => c['name'] === get(notify, 'route', 'cluster'),
  );
  const address = get(
    cluster,
    'load_assignment',
    'endpoints',
    0,
    'lb_endpoints',
    0,
    'endpoint',
    'address',
    'socket_address',
  );
  assert.equal(
    `${str(get(address, 'address'))}:${String(get(address, 'port_value'))}`,
    gatewayEnv.get('GATEWAY_LISTEN'),
  );
  const upstreamIdle = durationMs(
    get(
      cluster,
      'typed_extension_protocol_options',
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      'common_http_protocol_options',
      'idle_timeout',
    ),
  );
  assert.ok(
    upstreamIdle < GATEWAY_KEEP_ALIVE_MS,
    `upstream idle_timeout ${upstreamIdle} ms must end before the gateway's keepAliveTimeout`,
  );

  const logFormat = JSON.stringify(get(hcm, 'access_log'));
  assert.doesNotMatch(
    logFormat,
    /BODY|REQ\(:PATH\)|DYNAMIC_METADATA/,
    'the access log has no bodies and no query strings',
  );
});

test('k8s/namespace: the Namespace pins its Pod Security version, and the PriorityClass the pods name', () => {
  const objects = rendered(NAMESPACE).objects;
  const ns = one(objects, 'Namespace', 'payment-callback');
  const labels = ns.metadata.labels ?? {};
  assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted');
  assert.match(
    labels['pod-security.kubernetes.io/enforce-version'] ?? '',
    /^v1\.\d+$/,
    'enforce a pinned version, not latest',
  );
  assert.equal(labels['pod-security.kubernetes.io/warn'], 'restricted');
  // The base includes the same objects, so the main overlay keeps owning them.
  for (const o of objects)
    assert.deepEqual(one(prod, o.kind, o.metadata.name), o, `${id(o)} is the same in production`);
  const priority = one(objects, 'PriorityClass', 'payment-callback');
  assert.ok(
    (priority['value'] as number) > 0 && (priority['value'] as number) < 1_000_000_000,
    'above ordinary pods, below the system classes',
  );
  assert.equal(priority['globalDefault'], false);
  for (const name of ['payment-callback-core', 'payment-callback-gateway', 'redis']) {
    assert.equal(
      workload(prod, name).spec['priorityClassName'],
      priority.metadata.name,
      `${name} uses the PriorityClass`,
    );
  }
});
