// The simulator's HTTP transport (tools/simulator/http-transport.ts) against a local server: what a
// reply, a refusal, a reset and a timeout each become, and a real retry loop over it.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { httpTransport, TransportError } from '../../tools/simulator/http-transport';
import { parseSchedule } from '../../tools/simulator/retry-schedule';
import { deliver, type AttemptRecord } from '../../tools/simulator/sender';

const SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

describe('httpTransport', () => {
  let server: http.Server;
  let base: string;
  let flaky = 0;
  const received: string[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        received.push(`${req.method} ${req.headers['content-type'] ?? ''} ${body}`);
        switch (req.url) {
          case '/ok':
            res.writeHead(200).end(SUCCESS);
            break;
          case '/big':
            res.writeHead(200).end('x'.repeat(100_000));
            break;
          case '/slow':
            setTimeout(() => res.writeHead(200).end(SUCCESS), 500);
            break;
          case '/reset':
            req.socket.destroy();
            break;
          case '/flaky':
            flaky += 1;
            res.writeHead(flaky < 3 ? 503 : 200).end(flaky < 3 ? 'busy' : SUCCESS);
            break;
          default:
            res.writeHead(404).end('no');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  const t = httpTransport({ maxBodyChars: 1000 });
  after(() => t.close());

  test('POSTs the body as text/xml and returns status and body', async () => {
    const r = await t.send(`${base}/ok`, '<xml>支付</xml>', 2_000);
    assert.deepEqual(r, { status: 200, body: SUCCESS });
    assert.equal(received.at(-1), 'POST text/xml; charset=utf-8 <xml>支付</xml>');
  });
  test('any status is a reply, not an error', async () => {
    assert.equal((await t.send(`${base}/nope`, 'x', 2_000)).status, 404);
  });
  test('a long body is cut to maxBodyChars', async () => {
    assert.equal((await t.send(`${base}/big`, 'x', 2_000)).body.length, 1000);
  });
  const failures: ReadonlyArray<[string, () => string, number, string]> = [
    ['no reply within the timeout: ETIMEDOUT', () => `${base}/slow`, 100, 'ETIMEDOUT'],
    ['the connection reset: ECONNRESET', () => `${base}/reset`, 2_000, 'ECONNRESET'],
    ['nothing listening: ECONNREFUSED', () => 'http://127.0.0.1:1/', 2_000, 'ECONNREFUSED'],
    ['not a URL: EINVALIDURL', () => 'not a url', 2_000, 'EINVALIDURL'],
    ['not http(s): EINVALIDURL', () => 'ftp://127.0.0.1/', 2_000, 'EINVALIDURL'],
  ];
  for (const [name, url, timeout, code] of failures) {
    test(name, async () => {
      await assert.rejects(t.send(url(), 'x', timeout), (e: unknown) => e instanceof TransportError && e.code === code);
    });
  }
  test('a real retry loop: 503, 503, then SUCCESS on the third attempt, pauses compressed', async () => {
    const records: AttemptRecord[] = [];
    const started = Date.now();
    const r = await deliver({ id: '1', kind: 'unique', xml: '<xml/>' }, 0, {
      url: `${base}/flaky`,
      schedule: parseSchedule('wechat'),
      timeScale: 0.001,
      transport: t.send,
      onAttempt: (a) => records.push(a),
    });
    assert.deepEqual([r.delivered, r.attempts], [true, 3]);
    assert.deepEqual(
      records.map((a) => [a.status, a.acknowledged, a.nextRetryMs]),
      [
        [503, false, 15],
        [503, false, 15],
        [200, true, null],
      ],
    );
    assert.ok(Date.now() - started >= 30);
  });
});
