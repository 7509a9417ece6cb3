import { createServer, type Server } from 'node:http';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ListenAddress } from '../src/env-reader';

/** The gateway's Prometheus metrics. */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'payment_callback_gateway_requests_total',
    help: 'HTTP requests answered, by path kind and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });

  readonly coreCallSeconds = new Histogram({
    name: 'payment_callback_gateway_core_call_seconds',
    help: 'HandleNotify round trip to the core, by gRPC status',
    labelNames: ['grpc_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Serves /metrics, and /livez for kubelet's liveness probe: the notify port is on loopback,
   * out of kubelet's reach, and this server runs on the same event loop, so an answer here
   * means the process is alive (draining or not: readiness is /healthz, through nginx).
   * Resolves once listening.
   */
  serve(address: ListenAddress): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType }).end(text);
        },
        () => res.writeHead(500).end(),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => resolve(server));
    });
  }
}
