// The gateway against a hostile client, over real TCP: one that trickles its headers or its body
// a byte every 500 ms is ended within SLOW_CLIENT_LIMITS (408, then the connection closed), and
// values the client chooses reach the gateway's log cut to MAX_LOGGED_VALUE_CHARS. No core runs:
// the slow requests never get that far, and the others are answered 503 without one.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { readGatewayConfig } from '../../gateway/config';
import { createCoreClient } from '../../gateway/core-client';
import { SLOW_CLIENT_LIMITS, startGateway, type RunningGateway } from '../../gateway/gateway-server';
import { MAX_LOGGED_VALUE_CHARS } from '../../gateway/log-value';
import { freePort } from '../../harness/free-port';
import { rawRequest, trickle } from '../../harness/trickle-client';

/**
 * How late past a limit the connection may still be open: Node checks once a second
 * (checkIntervalMs), and a loaded 2-core CI runner adds scheduling delay. Before the check
 * interval was set, both clients below lived 30 s.
 */
const SLACK_MS = SLOW_CLIENT_LIMITS.checkIntervalMs + 2_000;

const logLines: Array<Record<string, unknown>> = [];
let gateway: RunningGateway;

before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // Nothing listens there: notifications that get through are answered 503 after the deadline.
  const deadCore = `127.0.0.1:${await freePort()}`;
  gateway = await startGateway(
    readGatewayConfig({
      CORE_GRPC_TARGET: deadCore,
      GATEWAY_LISTEN: '127.0.0.1:0',
      GATEWAY_METRICS_LISTEN: 'off',
      CORE_DEADLINE_MS: '300',
    }),
    createCoreClient(deadCore),
    pino({ level: 'info' }, sink),
  );
});

after(async () => {
  await gateway?.shutdown();
});

describe('a client that trickles', { concurrency: true }, () => {
  const cases = [
    {
      name: 'its headers',
      head: 'POST /wxpay/notify HTTP/1.1\r\nHost: gateway\r\nX-Slow: ',
      limitMs: SLOW_CLIENT_LIMITS.headersTimeoutMs,
    },
    {
      name: 'its body',
      head: 'POST /wxpay/v3/notify HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{',
      limitMs: SLOW_CLIENT_LIMITS.requestTimeoutMs,
    },
  ];
  for (const c of cases) {
    test(`${c.name}, a byte every 500 ms: 408 and closed within ${c.limitMs} ms + the check interval`, async () => {
      const r = await trickle({ port: gateway.port, head: c.head, intervalMs: 500, giveUpMs: c.limitMs + 20_000 });
      assert.ok(r.closedByServer, `still open after ${r.ms} ms`);
      assert.equal(r.status, 408, r.response);
      assert.ok(r.ms >= c.limitMs - 100, `closed after ${r.ms} ms, before the ${c.limitMs} ms limit`);
      assert.ok(
        r.ms <= c.limitMs + SLACK_MS,
        `closed after ${r.ms} ms, more than ${SLACK_MS} ms past the ${c.limitMs} ms limit`,
      );
      assert.ok(
        r.dripped >= Math.floor(c.limitMs / 500) - 2,
        `only ${r.dripped} bytes trickled: the client was not slow but stuck`,
      );
    });
  }
});

test('the body trickler is one 408 line in the log, not a gateway error', () => {
  const line = logLines.find((l) => l['msg'] === 'request' && l['path'] === '/wxpay/v3/notify');
  assert.ok(line, JSON.stringify(logLines));
  assert.deepEqual([line['status'], line['incomplete_body'], line['client_ip']], [408, true, '127.0.0.1']);
  assert.ok(
    !logLines.some((l) => Number(l['level']) >= 50),
    JSON.stringify(logLines.filter((l) => Number(l['level']) >= 50)),
  );
});

test('a client slow inside both limits still gets its answer', async () => {
  // The headers over 2 s, the body over 1.5 s more: the gateway reads it all and answers.
  const body = '<xml><appid>wx</appid></xml>';
  const started = Date.now();
  const res = await rawRequest(
    gateway.port,
    [
      'POST /wxpay/notify HTTP/1.1\r\n',
      'Host: gateway\r\n',
      'Connection: close\r\n',
      `Content-Length: ${body.length}\r\n`,
      '\r\n',
      body.slice(0, 10),
      body.slice(10, 20),
      body.slice(20),
    ],
    { gapMs: 500 },
  );
  assert.equal(res.status, 503, res.body);
  assert.match(res.body, /temporarily unavailable/);
  assert.ok(Date.now() - started >= 3_000);
});

test(`values the client chooses reach the log cut to ${MAX_LOGGED_VALUE_CHARS} characters, and the query string not at all`, async () => {
  const query = `?${'q'.repeat(2_000)}`;
  const body = `<xml><${'a'.repeat(300)} x="1"></xml>`;
  const res = await rawRequest(
    gateway.port,
    [
      `POST /wxpay/notify${query} HTTP/1.1`,
      'Host: gateway',
      'Connection: close',
      `X-Real-IP: ${'9'.repeat(1_000)}`,
      `Content-Length: ${body.length}`,
      '',
      body,
    ].join('\r\n'),
  );
  assert.equal(res.status, 400, res.body);
  const line = logLines.find((l) => l['path'] === '/wxpay/notify' && String(l['client_ip']).startsWith('999'));
  assert.ok(line, JSON.stringify(logLines));
  for (const key of ['client_ip', 'rejected']) {
    const value: string = String(line[key]);
    assert.equal(value.length, MAX_LOGGED_VALUE_CHARS, `${key}: ${value}`);
    assert.ok(value.endsWith('…'), `${key} is visibly cut: ${value}`);
  }
});
