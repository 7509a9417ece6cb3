// The console's pure parts: escaping, configuration, who the operator is, CSRF tokens and the
// note that carries the operator to the core.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readConsoleConfig } from '../../src/console/config';
import { escapeHtml, href, html } from '../../src/console/html';
import { CsrfTokens, operatorOf, parseResolutionNote, resolutionNote } from '../../src/console/operator';
import { ConfigError } from '../../src/env-reader';

describe('html escapes every value it did not build itself', () => {
  const cases: ReadonlyArray<[string, string]> = [
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['" onmouseover="x', '&quot; onmouseover=&quot;x'],
    ["' autofocus onfocus='x", '&#39; autofocus onfocus=&#39;x'],
    ['a & b', 'a &amp; b'],
    ['`x`', '&#96;x&#96;'],
    ['支付测试 & <测试>', '支付测试 &amp; &lt;测试&gt;'],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => {
      assert.equal(escapeHtml(input), expected);
      assert.equal(html`<td title="${input}">${input}</td>`.text, `<td title="${expected}">${expected}</td>`);
    });
  }
  test('nested html is kept, arrays are joined, empty values vanish', () => {
    assert.equal(
      html`<ul>${['<a>', 'b'].map((x) => html`<li>${x}</li>`)}</ul>${undefined}${false}`.text,
      '<ul><li>&lt;a&gt;</li><li>b</li></ul>',
    );
  });
  test('href encodes each path segment', () => {
    assert.equal(href(['orders', '10000100', 'a/b?c']), '/orders/10000100/a%2Fb%3Fc');
    assert.equal(href(['anomalies'], { state: 'open', mch_id: '' }), '/anomalies?state=open');
  });
});

describe('console configuration', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      readConsoleConfig(env, {
        localUser: 'alice',
        readFile: () => {
          throw new Error('no files');
        },
      });
      return [];
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return [...e.problems];
    }
  };
  const cases: ReadonlyArray<{ env: Record<string, string>; problem: RegExp | undefined }> = [
    { env: {}, problem: undefined },
    { env: { CONSOLE_LISTEN: '0.0.0.0:8090' }, problem: /reaches beyond this machine/ },
    {
      env: {
        CONSOLE_LISTEN: '0.0.0.0:8090',
        CONSOLE_USER_HEADER: 'X-Forwarded-User',
        CONSOLE_TRUSTED_PROXIES: '10.0.0.0/8',
      },
      problem: undefined,
    },
    { env: { CONSOLE_USER_HEADER: 'X-Forwarded-User' }, problem: /needs CONSOLE_TRUSTED_PROXIES/ },
    { env: { CONSOLE_TRUSTED_PROXIES: '127.0.0.1' }, problem: /no effect without CONSOLE_USER_HEADER/ },
    {
      env: { CONSOLE_USER_HEADER: 'X-Forwarded-User', CONSOLE_TRUSTED_PROXIES: '10.0.0.0/33' },
      problem: /not an IP address or CIDR/,
    },
    { env: { CONSOLE_USER_HEADER: 'X Forwarded', CONSOLE_TRUSTED_PROXIES: '::1' }, problem: /must be a header name/ },
    { env: { CONSOLE_CORE_TOKEN: 'short' }, problem: /24 to 256 printable/ },
    { env: { CONSOLE_CORE_TOKEN_FILE: '/nope' }, problem: /cannot be read/ },
    { env: { PAYMENT_CALLBACK_ENV: 'production' }, problem: /needs the console's own caller token/ },
    { env: { CONSOLE_MCH_IDS: '10000100,abc' }, problem: /abc is not an mch_id/ },
    { env: { CONSOLE_LISTN: '127.0.0.1:1' }, problem: /CONSOLE_LISTN is not a setting of the console/ },
  ];
  for (const { env, problem } of cases) {
    test(JSON.stringify(env), () => {
      const problems = problemsOf(env);
      if (problem === undefined) assert.deepEqual(problems, []);
      else
        assert.ok(
          problems.some((p) => problem.test(p)),
          problems.join('\n'),
        );
    });
  }
  test('defaults: loopback, the local core, the local user as operator', () => {
    const c = readConsoleConfig({}, { localUser: 'alice' });
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8090 });
    assert.equal(c.coreTarget, '127.0.0.1:50051');
    assert.deepEqual(c.identity, { kind: 'local', localOperator: 'alice@localhost' });
  });
});

describe('the operator: the user header counts only from a trusted proxy', () => {
  const identity = readConsoleConfig({
    CONSOLE_USER_HEADER: 'X-Forwarded-User',
    CONSOLE_TRUSTED_PROXIES: '127.0.0.1,10.1.0.0/16',
  }).identity;
  const request = (remoteAddress: string, user?: string | string[]) => ({
    headers: user === undefined ? {} : { 'x-forwarded-user': user },
    socket: { remoteAddress } as never,
  });
  const cases: ReadonlyArray<[string, string | string[] | undefined, string | number]> = [
    ['127.0.0.1', 'alice@example.com', 'alice@example.com'],
    ['::ffff:127.0.0.1', 'alice@example.com', 'alice@example.com'],
    ['10.1.2.3', 'bob', 'bob'],
    ['10.2.0.1', 'alice@example.com', 403],
    ['203.0.113.7', 'admin', 403],
    ['127.0.0.1', undefined, 401],
    ['127.0.0.1', '', 401],
    ['127.0.0.1', 'eve: operator mallory', 401],
    ['127.0.0.1', ['a', 'b'], 401],
  ];
  for (const [peer, user, expected] of cases) {
    test(`${peer} says ${JSON.stringify(user)}`, () => {
      const v = operatorOf(request(peer, user), identity);
      assert.equal(v.ok ? v.operator : v.status, expected);
    });
  }
});

describe('CSRF tokens and the resolution note', () => {
  test('a token works for its operator only', () => {
    const tokens = new CsrfTokens(Buffer.alloc(32, 7));
    const t = tokens.tokenFor('alice');
    assert.ok(tokens.verify('alice', t));
    assert.ok(!tokens.verify('bob', t));
    assert.ok(!tokens.verify('alice', undefined));
    assert.ok(!tokens.verify('alice', `${t}x`));
    assert.ok(!new CsrfTokens(Buffer.alloc(32, 8)).verify('alice', t), 'a restarted console issues new tokens');
  });
  test('the operator travels in front of the note and comes back out', () => {
    const recorded = resolutionNote('alice@example.com', '  refunded: 5030000\n(second payment) ');
    assert.equal(recorded, 'operator alice@example.com: refunded: 5030000\n(second payment)');
    assert.deepEqual(parseResolutionNote(recorded), {
      operator: 'alice@example.com',
      note: 'refunded: 5030000\n(second payment)',
    });
    assert.equal(parseResolutionNote('refunded by hand'), undefined);
  });
});
