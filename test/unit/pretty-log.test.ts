// make run's terminal log lines (src/cli/pretty-log.ts): one readable line per pino JSON line.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prettyLine, prettyLogStream } from '../../tools/cli/pretty-log';

const cases: ReadonlyArray<readonly [string, string, string]> = [
  [
    'a warning with fields',
    '{"level":40,"time":"2026-01-05T08:00:01.234Z","service":"payment-callback-core","name":"payment-callback-core","msg":"notification REJECTED","code":"INVALID_SIGNATURE","client_ip":"10.0.0.7"}',
    '08:00:01.234 WARN  core    notification REJECTED  code=INVALID_SIGNATURE client_ip=10.0.0.7',
  ],
  [
    'values with spaces and objects are quoted',
    '{"level":30,"time":"2026-01-05T08:00:01.234Z","service":"payment-callback-gateway","msg":"listening","identity":"a b","merchants":["1"]}',
    '08:00:01.234 INFO  gateway listening  identity="a b" merchants=["1"]',
  ],
  ['not JSON passes through', 'make run: stopping', 'make run: stopping'],
  ['a JSON array passes through', '[1,2]', '[1,2]'],
];

for (const [name, input, expected] of cases) {
  test(`prettyLine: ${name}`, () => assert.equal(prettyLine(input), expected));
}

test('prettyLine colours warnings only when asked', () => {
  assert.match(prettyLine('{"level":50,"msg":"x"}', true), /^\x1b\[31m.*\x1b\[0m$/);
  assert.doesNotMatch(prettyLine('{"level":30,"msg":"x"}', true), /\x1b/);
});

test('prettyLogStream joins lines split across chunks and flushes the last one', async () => {
  const stream = prettyLogStream(false);
  let out = '';
  stream.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const done = new Promise((resolve) => stream.on('end', resolve));
  stream.write('{"level":30,"time":"2026-01-05T08:00:01.234Z","msg":"o');
  stream.write('ne"}\n{"level":30,"msg":"two"}');
  stream.end();
  await done;
  assert.equal(out, '08:00:01.234 INFO          one\n INFO          two\n');
});
