// Problems the reliability and bad-input work found (none lost or doubled a payment), each kept
// as a test of its fix.

import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { parseNotifyXml } from '../../gateway/parse-notify-xml';
import { classifyStoreError, StoreError } from '../../src/store/store-error';
import { freePort } from '../../harness/free-port';
import { startNginx } from '../../harness/nginx-server';
import { startGatewayProcess } from '../../harness/service-processes';
import { DEMO, paidFields, signNotification, toNotifyXml } from '../../harness/sign-notification';
import { reliabilityNginxConf } from './stack';

describe('findings', () => {
  test('a value containing "]]>", written as two CDATA sections (the only CDATA form XML allows), is read', () => {
    const fields = signNotification(paidFields('FINDING1', { attach: 'a]]>b' }), DEMO.key);
    const xml = toNotifyXml(fields).replace('<![CDATA[a]]>b]]>', '<![CDATA[a]]]]><![CDATA[>b]]>');
    const r = parseNotifyXml(Buffer.from(xml));
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.fields['attach'], 'a]]>b');
  });

  test('the reason for refusing deeply nested XML is short', () => {
    const r = parseNotifyXml(Buffer.from(`<xml>${'<a>'.repeat(9_000)}`));
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.message.length < 500, `${r.message.length} characters`);
  });

  test('a COMMIT that fails because the connection broke is STORE_UNAVAILABLE, not an unexpected error', () => {
    const e = classifyStoreError(new Error('COMMIT; - Client has encountered a connection error and is not queryable'));
    assert.ok(e instanceof StoreError && e.code === 'STORE_UNAVAILABLE', String(e));
  });

  test(
    'a gateway draining under steady traffic over keep-alive connections exits once the requests it had are answered',
    {
      timeout: 60_000,
    },
    async () => {
      // Every request takes 0.5 s (the core's address answers nothing, so each call waits out
      // CORE_DEADLINE_MS), as they do when the core is slow: connections are busy when SIGTERM comes.
      const gateway = await startGatewayProcess(await freePort(), {
        SHUTDOWN_GRACE_MS: '3000',
        CORE_DEADLINE_MS: '500',
      });
      // Through the production nginx.conf, whose upstream keeps connections to the gateway open.
      const port = await freePort();
      const nginx = await startNginx((paths) => reliabilityNginxConf(paths.dir, port, gateway.port), { port });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
      let servedAfterSigterm = 0;
      let sigtermAt = Number.POSITIVE_INFINITY;
      let running = true;
      const body = toNotifyXml(signNotification(paidFields('FINDING2'), DEMO.key));
      const loop = async (): Promise<void> => {
        while (running) {
          await new Promise<void>((resolve) => {
            const sent = Date.now();
            const req = http.request(
              {
                host: '127.0.0.1',
                port,
                path: '/wxpay/notify',
                method: 'POST',
                agent,
                headers: { 'content-length': Buffer.byteLength(body) },
              },
              (res) => {
                // The gateway's replies carry its x-request-id; nginx's own 503 page does not.
                if (sent > sigtermAt && res.headers['x-request-id'] !== undefined) servedAfterSigterm += 1;
                res.resume();
                res.on('end', () => resolve());
              },
            );
            req.on('error', () => setTimeout(resolve, 20));
            req.end(body);
          });
        }
      };
      try {
        const loops = Array.from({ length: 32 }, () => loop());
        await new Promise((r) => setTimeout(r, 500));
        const started = Date.now();
        sigtermAt = started + 100;
        const exit = await gateway.stop();
        const tookMs = Date.now() - started;
        running = false;
        await Promise.all(loops);
        assert.deepEqual(exit, { code: 0, signal: null });
        // The requests in flight at SIGTERM end within 0.5 s: draining should not take the whole grace period.
        assert.ok(
          tookMs < 1_500,
          `SIGTERM to exit took ${tookMs} ms with SHUTDOWN_GRACE_MS 3000; ${servedAfterSigterm} requests sent after it were still taken by the draining gateway`,
        );
      } finally {
        running = false;
        agent.destroy();
        await nginx.dispose();
        await gateway.stop();
      }
    },
  );
});
