// The documented deploy commands, walked in order against the manifests they apply, so the docs
// cannot drift from k8s/ again. docs/deploying.md marks two shell blocks: "install" (once per
// cluster) and "release" (every release, the first included). This test plays install, then
// release twice (a first and a second release on the same cluster), on a model of the cluster:
// which namespaces, Secrets (and their keys), PriorityClasses, ConfigMaps and Jobs exist. Each
// command must need only what an earlier command created. Every command must be one this test
// understands, so a new step cannot slip in unchecked.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { build, containersOf, isRecord, podTemplate, type KObject } from './kustomize-lite';

const ROOT = resolve(__dirname, '..', '..', '..');
const at = (...parts: string[]): string => join(ROOT, ...parts);
const DOC = 'docs/deploying.md';

/** The shell block after `<!-- deploy-steps: <name> -->`, as commands (continuations joined). */
function stepsOf(markdown: string, name: string): string[] {
  const m = new RegExp(`<!-- deploy-steps: ${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(markdown);
  assert.ok(m, `${DOC} has no "deploy-steps: ${name}" shell block`);
  return (m[1] as string)
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Shell words, with quotes removed (enough for the documented commands: no nesting beyond "$(...)"). */
function words(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let started = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started || current) out.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  assert.equal(quote, undefined, `unbalanced quotes: ${line}`);
  if (started || current) out.push(current);
  return out;
}

/** `--timeout=11m` / `10m30s` / `600s` -> seconds. */
function seconds(duration: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  assert.ok(m && duration !== '', `duration ${duration}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

interface Cluster {
  namespaces: Set<string>;
  /** namespace/name -> keys */
  secrets: Map<string, Set<string>>;
  /** Cluster-scoped or namespaced objects applied so far: kind/namespace/name -> object. */
  objects: Map<string, KObject>;
  images: string[];
}

const key = (o: { kind: string; metadata: { name: string; namespace?: string } }): string =>
  `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const a = args[i] as string;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}

/** What a workload needs at the moment it is applied: its pods start right away. */
function checkWorkloadNeeds(o: KObject, c: Cluster, applying: ReadonlyMap<string, KObject>, step: string): void {
  const t = podTemplate(o);
  if (!t) return;
  const ns = o.metadata.namespace ?? '';
  const where = `${step}: ${o.kind}/${o.metadata.name}`;
  const hasConfigMap = (name: string): boolean =>
    applying.has(`ConfigMap/${ns}/${name}`) || c.objects.has(`ConfigMap/${ns}/${name}`);
  const needSecret = (name: string, keys: string[], optional: boolean): void => {
    const have = c.secrets.get(`${ns}/${name}`);
    if (!have) {
      assert.ok(optional, `${where} needs Secret ${name}, which no earlier step creates`);
      return;
    }
    for (const k of keys)
      assert.ok(have.has(k), `${where} needs key ${k} of Secret ${name}, which the step creating it does not set`);
  };
  const priority = t.spec['priorityClassName'];
  if (typeof priority === 'string') {
    assert.ok(
      applying.has(`PriorityClass//${priority}`) || c.objects.has(`PriorityClass//${priority}`),
      `${where} needs PriorityClass ${priority}, which no earlier step creates`,
    );
  }
  const volumes = Array.isArray(t.spec['volumes']) ? t.spec['volumes'].filter(isRecord) : [];
  for (const v of volumes) {
    const sources =
      isRecord(v['projected']) && Array.isArray(v['projected']['sources'])
        ? v['projected']['sources'].filter(isRecord)
        : [v];
    for (const s of sources) {
      const secret = s['secret'];
      if (isRecord(secret)) {
        const name = String(secret['secretName'] ?? secret['name']);
        const items = Array.isArray(secret['items'])
          ? secret['items'].filter(isRecord).map((i) => String(i['key']))
          : [];
        needSecret(name, items, secret['optional'] === true);
      }
      const cm = s['configMap'];
      if (isRecord(cm) && cm['optional'] !== true)
        assert.ok(hasConfigMap(String(cm['name'])), `${where} needs ConfigMap ${String(cm['name'])}`);
    }
  }
  for (const container of containersOf(t.spec)) {
    for (const e of Array.isArray(container['env']) ? container['env'].filter(isRecord) : []) {
      const ref = isRecord(e['valueFrom']) ? e['valueFrom']['secretKeyRef'] : undefined;
      if (isRecord(ref)) needSecret(String(ref['name']), [String(ref['key'])], ref['optional'] === true);
    }
    for (const e of Array.isArray(container['envFrom']) ? container['envFrom'].filter(isRecord) : []) {
      if (isRecord(e['configMapRef']))
        assert.ok(
          hasConfigMap(String(e['configMapRef']['name'])),
          `${where} needs ConfigMap ${String(e['configMapRef']['name'])}`,
        );
    }
  }
}

function applyKustomization(dir: string, c: Cluster, step: string): void {
  const objects = build(at(dir)).objects;
  const applying = new Map(objects.map((o) => [key(o), o]));
  for (const o of objects) {
    // kubectl applies a kustomization's Namespace before what goes into it.
    if (o.metadata.namespace !== undefined) {
      assert.ok(
        c.namespaces.has(o.metadata.namespace) || applying.has(`Namespace//${o.metadata.namespace}`),
        `${step}: ${o.kind}/${o.metadata.name} goes into namespace ${o.metadata.namespace}, which no earlier step creates`,
      );
    }
    if (o.kind === 'Job') {
      // A Job's pod template is immutable: applying a new one over a kept one fails.
      assert.ok(
        !c.objects.has(key(o)),
        `${step}: Job ${o.metadata.name} still exists from the last release (its template is immutable): delete it first`,
      );
    }
    if (o.kind === 'Ingress') {
      for (const tls of Array.isArray((o['spec'] as Record<string, unknown>)['tls'])
        ? ((o['spec'] as Record<string, unknown>)['tls'] as unknown[]).filter(isRecord)
        : []) {
        assert.ok(
          c.secrets.has(`${o.metadata.namespace ?? ''}/${String(tls['secretName'])}`),
          `${step}: the Ingress needs TLS Secret ${String(tls['secretName'])}`,
        );
      }
    }
    checkWorkloadNeeds(o, c, applying, step);
  }
  for (const o of objects) {
    c.objects.set(key(o), o);
    if (o.kind === 'Namespace') c.namespaces.add(o.metadata.name);
  }
}

function run(steps: string[], c: Cluster): void {
  for (const line of steps) {
    const step = `"${line.slice(0, 90)}"`;
    const w = words(line);
    if (/^[A-Z_]+=/.test(line)) continue; // a shell variable for the next commands
    if (w[0] === 'docker') {
      assert.ok(['build', 'push'].includes(w[1] ?? ''), `${step}: only docker build and push`);
      c.images.push(w[1] === 'build' ? String(flag(w, '-t')) : String(w[2]));
      continue;
    }
    assert.equal(
      w[0],
      'kubectl',
      `${step}: a command this test does not understand; teach it to test/deploy/deploy-steps.test.ts`,
    );
    const ns = flag(w, '-n');
    if (ns !== undefined) assert.ok(c.namespaces.has(ns), `${step}: namespace ${ns} does not exist yet`);
    const verb = w.filter((x, i) => !x.startsWith('-') && w[i - 1] !== '-n').slice(1);
    if (verb[0] === 'apply') {
      const dir = flag(w, '-k');
      assert.ok(dir, `${step}: apply -k <kustomization>`);
      applyKustomization(dir, c, step);
    } else if (verb[0] === 'create' && verb[1] === 'secret') {
      assert.ok(ns, `${step}: create the Secret in its namespace (-n)`);
      const name = verb[3] as string;
      assert.ok(!c.secrets.has(`${ns}/${name}`), `${step}: Secret ${name} exists already (create would fail)`);
      const keys = new Set<string>();
      if (verb[2] === 'tls') ['tls.crt', 'tls.key'].forEach((k) => keys.add(k));
      else {
        assert.equal(verb[2], 'generic', step);
        for (const a of w.filter((x) => x.startsWith('--from-literal=') || x.startsWith('--from-file='))) {
          const value = a.slice(a.indexOf('=') + 1);
          const k =
            a.startsWith('--from-literal=') || value.includes('=')
              ? value.slice(0, value.indexOf('='))
              : (value.split('/').pop() as string);
          keys.add(k);
        }
      }
      c.secrets.set(`${ns}/${name}`, keys);
    } else if (verb[0] === 'delete' && verb[1] === 'job') {
      assert.ok(w.includes('--ignore-not-found'), `${step}: --ignore-not-found, or the first release fails`);
      c.objects.delete(`Job/${ns ?? ''}/${verb[2] as string}`);
    } else if (verb[0] === 'wait') {
      const target = verb[1] as string;
      assert.match(target, /^job\//, `${step}: waits for a Job`);
      const job = c.objects.get(`Job/${ns ?? ''}/${target.slice(4)}`);
      assert.ok(job, `${step}: no such Job was applied`);
      assert.equal(flag(w, '--for'), 'condition=complete');
      const deadline = Number((job['spec'] as Record<string, unknown>)['activeDeadlineSeconds']);
      const timeout = seconds(String(flag(w, '--timeout')));
      assert.ok(
        timeout >= deadline,
        `${step}: the wait (${timeout} s) is shorter than the Job's activeDeadlineSeconds (${deadline} s): it would give up on a Job still allowed to run`,
      );
    } else if (verb[0] === 'rollout' && verb[1] === 'status') {
      const [kind, name] = (verb[2] as string).split('/') as [string, string];
      const kinds: Record<string, string> = { deployment: 'Deployment', statefulset: 'StatefulSet' };
      assert.ok(
        c.objects.has(`${kinds[kind] ?? kind}/${ns ?? ''}/${name}`),
        `${step}: ${kind}/${name} was not applied`,
      );
      assert.ok(flag(w, '--timeout'), `${step}: a --timeout, so a stuck rollout fails the release instead of hanging`);
    } else {
      assert.fail(
        `${step}: a kubectl command this test does not understand; teach it to test/deploy/deploy-steps.test.ts`,
      );
    }
  }
}

const doc = readFileSync(at(DOC), 'utf8');
const install = stepsOf(doc, 'install');
const release = stepsOf(doc, 'release');

test('docs/deploying.md: install, then two releases, each step needing only what earlier ones created', () => {
  const cluster: Cluster = { namespaces: new Set(), secrets: new Map(), objects: new Map(), images: [] };
  run(install, cluster);
  run(release, cluster);
  run(release, cluster);
  // Everything the main overlay runs exists at the end.
  for (const name of ['payment-callback-core', 'payment-callback-gateway'])
    assert.ok(cluster.objects.has(`Deployment/payment-callback/${name}`));
  assert.ok(cluster.objects.has('Job/payment-callback/payment-callback-migrate'));
});

test('the steps fail the way a cluster would when they are out of order', () => {
  const fresh = (): Cluster => ({ namespaces: new Set(), secrets: new Map(), objects: new Map(), images: [] });
  const withoutNamespace = install.filter((l) => !l.includes('apply -k k8s/namespace'));
  assert.throws(() => run(withoutNamespace, fresh()), /namespace payment-callback does not exist yet/);
  const noDelete = release.filter((l) => !l.includes('delete job'));
  const c = fresh();
  run(install, c);
  run(noDelete, c);
  assert.throws(() => run(noDelete, c), /still exists from the last release/);
  const shortWait = release.map((l) => l.replace(/--timeout=\S+ job\//, '--timeout=5m job/'));
  const d = fresh();
  run(install, d);
  assert.throws(() => run(shortWait, d), /shorter than the Job's activeDeadlineSeconds/);
  const noRedisSecret = install.filter((l) => !l.includes('payment-callback-redis'));
  assert.throws(() => {
    const e = fresh();
    run(noRedisSecret, e);
    run(release, e);
  }, /Secret payment-callback-redis/);
});

test('the image built and pushed is the one both production overlays deploy', () => {
  const cluster: Cluster = { namespaces: new Set(), secrets: new Map(), objects: new Map(), images: [] };
  run(install, cluster);
  run(release, cluster);
  const built = new Set(cluster.images);
  assert.equal(built.size, 1, `one image is built and pushed: ${[...built].join(', ')}`);
  for (const dir of ['k8s/overlays/production', 'k8s/overlays/production/migrate']) {
    for (const o of build(at(dir)).objects) {
      for (const c of containersOf(podTemplate(o)?.spec ?? {})) {
        const image = String(c['image']);
        if (image.includes('/payment-callback'))
          assert.ok(
            built.has(image),
            `${dir}: ${o.kind}/${o.metadata.name} runs ${image}, not the image the docs build (${[...built].join(', ')})`,
          );
      }
    }
  }
});

test('README\'s "Deploying" summarises docs/deploying.md and holds no commands of its own to drift', () => {
  const readme = readFileSync(at('README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Deploying'),
    readme.indexOf('\n## ', readme.indexOf('## Deploying') + 1),
  );
  assert.ok(section.includes('(docs/deploying.md)'), 'README links docs/deploying.md');
  assert.doesNotMatch(
    section,
    /^\s*kubectl .*(apply|create|wait)/m,
    'README repeats no deploy command: they live (and are tested) in docs/deploying.md',
  );
  for (const runbook of ['postgres-backup-restore', 'redis-node-lost', 'database-failover']) {
    assert.ok(section.includes(`docs/runbooks/${runbook}.md`), `README links the ${runbook} runbook`);
    readFileSync(at('docs/runbooks', `${runbook}.md`), 'utf8');
  }
});
