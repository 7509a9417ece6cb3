import { createServer, type Server } from 'node:http';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import type { ListenAddress } from './env-reader';

/**
 * A process's own Prometheus registry (one per instance, so tests can run several cores and
 * gateways in one process), with Node's default metrics, and the /metrics server. The core's and
 * the gateway's metrics extend it and keep their names and help texts to themselves.
 */
export abstract class MetricsRegistry {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  protected counter<T extends string>(config: Omit<CounterConfiguration<T>, 'registers'>): Counter<T> {
    return new Counter({ ...config, registers: [this.registry] });
  }

  protected gauge<T extends string>(config: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T> {
    return new Gauge({ ...config, registers: [this.registry] });
  }

  protected histogram<T extends string>(config: Omit<HistogramConfiguration<T>, 'registers'>): Histogram<T> {
    return new Histogram({ ...config, registers: [this.registry] });
  }

  /**
   * Serves GET /metrics, and each of `plainRoutes` (path => fixed text/plain body); anything else
   * is 404. Resolves once listening.
   *
   * serveRegistry({ host: '0.0.0.0', port: 9464 }, { '/livez': 'ok\n' })  => GET /livez  => 200 "ok\n"
   */
  protected serveRegistry(
    address: ListenAddress,
    plainRoutes: Readonly<Record<string, string>>,
    notFound: string,
  ): Promise<Server> {
    const server = createServer((req, res) => {
      const plain = req.method === 'GET' && req.url !== undefined ? plainRoutes[req.url] : undefined;
      if (plain !== undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(plain);
        return;
      }
      if (req.method !== 'GET' || req.url !== '/metrics') {
        if (notFound === '') res.writeHead(404).end();
        else res.writeHead(404, { 'content-type': 'text/plain' }).end(notFound);
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
