// The optional monitoring component (k8s/monitoring/): it renders into the production overlay,
// its scrape targets match the pods, `promtool check rules` accepts its PrometheusRule and
// `promtool test rules` (./alert-rules.promtool.yaml) shows each alert firing and staying quiet,
// every alert has a runbook in docs/operating.md, and every query of the rules and of the
// Grafana dashboard parses and names only metrics the core and the gateway export (read from
// their registries here, so a renamed metric fails this test instead of silencing an alert).
// promtool comes from Debian's prometheus package (harness/ensure-binaries.sh).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { GatewayMetrics } from '../../gateway/gateway-metrics';
import { CoreMetrics } from '../../src/metrics';
import { build, containersOf, isRecord, podTemplate, readYaml, type KObject } from './kustomize-lite';

/** The repository root: this file runs as dist/test/deploy/monitoring.test.js. */
const ROOT = resolve(__dirname, '..', '..', '..');
const at = (...parts: string[]): string => join(ROOT, ...parts);
const NAMESPACE = 'payment-callback';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}

const ruleObject = readYaml(at('k8s/monitoring/prometheus-rules.yaml'))[0] as KObject;
const groups = (ruleObject['spec'] as { groups: RuleGroup[] }).groups;
const alerts = groups.flatMap((g) => g.rules).filter((r): r is Rule & { alert: string } => typeof r.alert === 'string');
const dashboardMap = readYaml(at('k8s/monitoring/grafana-dashboard.yaml'))[0] as KObject;
const dashboard = JSON.parse((dashboardMap['data'] as Record<string, string>)['payment-callback.json'] ?? '{}') as {
  panels: Array<Record<string, unknown>>;
};

const work = mkdtempSync(join(tmpdir(), 'monitoring-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

function promtool(args: string[], cwd = work): string {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error && 'code' in r.error && r.error.code === 'ENOENT') {
    assert.fail(
      'promtool is not installed: sudo apt-get install prometheus (harness/ensure-binaries.sh does it as root)',
    );
  }
  assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Every expr of the dashboard's panels (rows included), with Grafana's interval variables filled in. */
function dashboardExprs(): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  const visit = (panels: Array<Record<string, unknown>>): void => {
    for (const p of panels) {
      for (const t of Array.isArray(p['targets']) ? (p['targets'] as Array<Record<string, unknown>>) : []) {
        if (typeof t['expr'] === 'string')
          out.push({ panel: String(p['title']), expr: t['expr'].replace(/\$__(rate_)?interval|\$__range/g, '5m') });
      }
      if (Array.isArray(p['panels'])) visit(p['panels'] as Array<Record<string, unknown>>);
    }
  };
  visit(dashboard.panels);
  return out;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: identifiers outside strings, label matchers,
 * ranges and grouping lists that are neither functions nor keywords.
 *
 * metricNames('sum by (le) (rate(x_bucket{a="b"}[5m])) / y') => ['x_bucket', 'y']
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\d+[smhdwy]/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = bare.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0].toLowerCase())) continue;
    // A number's exponent (1e3) or a duration is not a name.
    const before = bare.slice(0, m.index ?? 0);
    if (/[0-9.]$/.test(before)) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** What the exporters' registries name, histograms with their _bucket, _sum and _count series. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const registry of [new CoreMetrics().registry, new GatewayMetrics().registry]) {
    for (const m of await registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
      if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(`${m.name}${s}`);
    }
  }
  return names;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      (m[1] ?? '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
}

describe('k8s/monitoring (optional component)', () => {
  test('metricNames finds the selected metrics only', () => {
    const cases: ReadonlyArray<readonly [string, string[]]> = [
      ['sum by (le) (rate(x_bucket{a="b", c=~"d|e"}[5m])) / y', ['x_bucket', 'y']],
      ['(sum(increase(a_total[30m])) or vector(0)) == 0 and on () (hour() + 8) % 24 >= 9', ['a_total']],
      ['a unless a offset 15m', ['a']],
      ['max by (caller) (g) > 1e3', ['g']],
    ];
    for (const [expr, expected] of cases) assert.deepEqual(metricNames(expr), expected, expr);
  });

  test('renders into the production overlay: rules, pod monitors and the dashboard, in the namespace, selecting real pods', () => {
    const objects = build(at('k8s/overlays/production'), ['../../monitoring']).objects;
    const mine = objects.filter(
      (o) => ['PrometheusRule', 'PodMonitor'].includes(o.kind) || o.metadata.name === 'payment-callback-dashboard',
    );
    assert.deepEqual(mine.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ConfigMap/payment-callback-dashboard',
      'PodMonitor/payment-callback-core',
      'PodMonitor/payment-callback-gateway',
      'PrometheusRule/payment-callback',
    ]);
    for (const o of mine) assert.equal(o.metadata.namespace, NAMESPACE, `${o.kind}/${o.metadata.name}`);
    assert.equal(mine.find((o) => o.kind === 'ConfigMap')?.metadata.labels?.['grafana_dashboard'], '1');

    for (const monitor of mine.filter((o) => o.kind === 'PodMonitor')) {
      const spec = monitor['spec'] as {
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: Array<{ port: string; path: string }>;
      };
      const pods = objects
        .map(podTemplate)
        .filter((t): t is NonNullable<typeof t> => t !== undefined)
        .filter((t) => Object.entries(spec.selector.matchLabels).every(([k, v]) => t.labels[k] === v));
      assert.equal(pods.length, 1, `${monitor.metadata.name} selects one workload`);
      const ports = containersOf((pods[0] as NonNullable<(typeof pods)[0]>).spec).flatMap(
        (c) => (Array.isArray(c['ports']) ? c['ports'] : []) as Array<Record<string, unknown>>,
      );
      for (const endpoint of spec.podMetricsEndpoints) {
        assert.ok(
          ports.some((p) => p['name'] === endpoint.port),
          `${monitor.metadata.name}: no container port named ${endpoint.port}`,
        );
        assert.equal(endpoint.path, '/metrics');
      }
    }
  });

  test('promtool check rules accepts the PrometheusRule', () => {
    assert.equal(ruleObject.kind, 'PrometheusRule');
    writeFileSync(join(work, 'full.yaml'), stringify({ groups }));
    assert.match(
      promtool(['check', 'rules', 'full.yaml']),
      new RegExp(`SUCCESS: ${groups.flatMap((g) => g.rules).length} rules found`),
    );
  });

  test('promtool test rules: every alert fires and stays quiet in alert-rules.promtool.yaml', () => {
    const tests = parse(readFileSync(at('test/deploy/alert-rules.promtool.yaml'), 'utf8')) as {
      tests: Array<{ name: string; alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    for (const a of alerts) {
      const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.alertname === a.alert);
      assert.ok(
        cases.some((c) => c.exp_alerts.length > 0),
        `${a.alert}: no test where it fires`,
      );
      assert.ok(
        cases.some((c) => c.exp_alerts.length === 0),
        `${a.alert}: no test where it stays quiet`,
      );
    }
    const stripped = groups.map((g) => ({
      ...g,
      rules: g.rules.map((rule) => Object.fromEntries(Object.entries(rule).filter(([k]) => k !== 'annotations'))),
    }));
    writeFileSync(join(work, 'rules.yaml'), stringify({ groups: stripped }));
    writeFileSync(join(work, 'alert-rules.promtool.yaml'), readFileSync(at('test/deploy/alert-rules.promtool.yaml')));
    assert.match(promtool(['test', 'rules', 'alert-rules.promtool.yaml']), /SUCCESS/);
  });

  test('every alert has a severity, a summary and a runbook in docs/operating.md', () => {
    const docs = anchors(readFileSync(at('docs/operating.md'), 'utf8'));
    assert.ok(alerts.length >= 8);
    for (const a of alerts) {
      assert.ok(['warning', 'critical'].includes(a.labels?.['severity'] ?? ''), `${a.alert}: severity`);
      assert.ok(a.annotations?.['summary'] && a.annotations['description'], `${a.alert}: summary and description`);
      const url = a.annotations['runbook_url'] ?? '';
      const anchor = a.alert.toLowerCase();
      assert.equal(url, `docs/operating.md#${anchor}`, `${a.alert}: runbook_url`);
      assert.ok(docs.has(anchor), `docs/operating.md has no section "${a.alert}"`);
    }
  });

  test('every dashboard query parses (promtool, through a throwaway rules file)', () => {
    const exprs = dashboardExprs();
    assert.ok(exprs.length >= 15, 'the dashboard has its queries');
    const rules = exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: e.expr }));
    writeFileSync(join(work, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    promtool(['check', 'rules', 'dashboard.yaml']);
  });

  test('rules and dashboard name only metrics the core and the gateway export', async () => {
    const exported = await exportedNames();
    assert.ok(
      exported.has('payment_callback_notifications_total') && exported.has('payment_callback_gateway_requests_total'),
    );
    const uses = [
      ...alerts.map((a) => ({ where: `alert ${a.alert}`, expr: a.expr })),
      ...dashboardExprs().map((e) => ({ where: `panel "${e.panel}"`, expr: e.expr })),
    ];
    const unknown = uses.flatMap((u) =>
      metricNames(u.expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${u.where}: ${n}`),
    );
    assert.deepEqual(unknown, [], 'metrics no exporter has');
  });

  test('the dashboard is a Grafana dashboard with a datasource variable and unique panel ids', () => {
    const d = dashboard as unknown as Record<string, unknown>;
    assert.equal(d['uid'], 'payment-callback');
    assert.ok(isRecord(d['templating']));
    const ids = dashboard.panels.map((p) => p['id']);
    assert.equal(new Set(ids).size, ids.length);
    // kubectl, when present, renders the same objects (it is the real kustomize).
    const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (kubectl.status === 0) {
      // kustomize refuses absolute paths: an overlay inside the repository (.tmp/ is gitignored).
      mkdirSync(at('.tmp'), { recursive: true });
      const dir = mkdtempSync(at('.tmp', 'monitoring-overlay-'));
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        stringify({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: ['../../k8s/overlays/production'],
          components: ['../../k8s/monitoring'],
        }),
      );
      let text: string;
      try {
        text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const kinds = text
        .split('\n---\n')
        .map((doc) => parse(doc) as KObject)
        .filter(
          (o) => ['PrometheusRule', 'PodMonitor'].includes(o.kind) || o.metadata.name === 'payment-callback-dashboard',
        )
        .map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)
        .sort();
      assert.deepEqual(kinds, [
        'ConfigMap/payment-callback/payment-callback-dashboard',
        'PodMonitor/payment-callback/payment-callback-core',
        'PodMonitor/payment-callback/payment-callback-gateway',
        'PrometheusRule/payment-callback/payment-callback',
      ]);
    }
  });
});
