// APIv3 times (src/notify/v3/rfc3339.ts): RFC 3339 with an explicit offset, e.g.
// 2018-06-08T10:34:56+08:00; impossible dates are refused rather than rolled over.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRfc3339 } from '../../src/notify/v3/rfc3339';

describe('RFC 3339 times as WeChat Pay sends them', () => {
  const cases: ReadonlyArray<{ value: string; expected: string | undefined }> = [
    // The vector's create_time.
    { value: '2021-06-24T16:37:26+08:00', expected: '2021-06-24T08:37:26.000Z' },
    { value: '2018-06-08T10:34:56+08:00', expected: '2018-06-08T02:34:56.000Z' },
    { value: '2018-06-08T02:34:56Z', expected: '2018-06-08T02:34:56.000Z' },
    { value: '2018-06-07T21:34:56-05:00', expected: '2018-06-08T02:34:56.000Z' },
    { value: '2018-06-08T10:34:56.123+08:00', expected: '2018-06-08T02:34:56.123Z' },
    { value: '2018-06-08T10:34:56.1+08:00', expected: '2018-06-08T02:34:56.100Z' },
    { value: '2018-06-08T10:34:56.123456789+08:00', expected: '2018-06-08T02:34:56.123Z' }, // finer digits dropped
    { value: '2018-01-01T07:59:59+08:00', expected: '2017-12-31T23:59:59.000Z' },
    { value: '2016-02-29T00:00:00+08:00', expected: '2016-02-28T16:00:00.000Z' },
    { value: '2017-02-29T00:00:00+08:00', expected: undefined },
    { value: '2018-06-31T00:00:00+08:00', expected: undefined },
    { value: '2018-06-08T24:00:00+08:00', expected: undefined },
    { value: '2018-06-08T10:60:00+08:00', expected: undefined },
    { value: '2018-06-08T10:34:60+08:00', expected: undefined }, // leap seconds are not used
    { value: '2018-06-08T10:34:56+24:00', expected: undefined },
    { value: '2018-06-08T10:34:56+08:60', expected: undefined },
    { value: '2018-06-08T10:34:56', expected: undefined }, // no offset: ambiguous
    { value: '2018-06-08 10:34:56+08:00', expected: undefined },
    { value: '2018-06-08t10:34:56+08:00', expected: undefined },
    { value: '2018-06-08T10:34:56+0800', expected: undefined },
    { value: '2018-6-8T10:34:56+08:00', expected: undefined },
    { value: ' 2018-06-08T10:34:56+08:00', expected: undefined },
    { value: '1528425296', expected: undefined },
    { value: '', expected: undefined },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.value)} -> ${c.expected ?? 'rejected'}`, () =>
      assert.equal(parseRfc3339(c.value)?.toISOString(), c.expected));
  }
});
