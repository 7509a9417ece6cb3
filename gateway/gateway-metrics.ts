import type { Server } from 'node:http';
import type { ListenAddress } from '../src/env-reader';
import { MetricsRegistry } from '../src/metrics-registry';

/** The gateway's Prometheus metrics. */
export class GatewayMetrics extends MetricsRegistry {
  readonly requests = this.counter({
    name: 'payment_callback_gateway_requests_total',
    help: 'HTTP requests answered, by path kind and status',
    labelNames: ['route', 'status'] as const,
  });

  readonly coreCallSeconds = this.histogram({
    name: 'payment_callback_gateway_core_call_seconds',
    help: 'HandleNotify round trip to the core, by gRPC status',
    labelNames: ['grpc_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });

  /**
   * Serves /metrics, and /livez for kubelet's liveness probe: the notify port is on loopback,
   * out of kubelet's reach, and this server runs on the same event loop, so an answer here
   * means the process is alive (draining or not: readiness is /healthz, through nginx).
   * Resolves once listening.
   */
  serve(address: ListenAddress): Promise<Server> {
    return this.serveRegistry(address, { '/livez': 'ok\n' }, '');
  }
}
