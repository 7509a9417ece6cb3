// The gateway's liveness endpoint: kubelet probes GET /livez on the metrics port (the notify
// port is on loopback), k8s/base/gateway-deployment.yaml.

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { GatewayMetrics } from '../../gateway/gateway-metrics';

test('the metrics server answers /livez and /metrics, and 404 elsewhere', async () => {
  const server = await new GatewayMetrics().serve({ host: '127.0.0.1', port: 0 });
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cases: ReadonlyArray<[string, string, number]> = [
      ['GET', '/livez', 200],
      ['GET', '/metrics', 200],
      ['GET', '/healthz', 404],
      ['POST', '/livez', 404],
    ];
    for (const [method, path, status] of cases) {
      const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      assert.equal(res.status, status, `${method} ${path}`);
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
