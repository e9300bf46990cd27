/** Times spelled as Go's RFC 3339 with nanoseconds (what BuildKit writes into configs). */
import { describe, expect, it } from 'vitest';
import { goTime } from '../../src/util/go-time.js';

describe('goTime', () => {
  it.each([
    [0, '1970-01-01T00:00:00Z'],
    [1577836800_000, '2020-01-01T00:00:00Z'],
    [1577836800_100, '2020-01-01T00:00:00.1Z'],
    [1577836800_120, '2020-01-01T00:00:00.12Z'],
    [1577836800_123, '2020-01-01T00:00:00.123Z'],
    [1577836810_000, '2020-01-01T00:00:10Z'],
  ])('%d ms → %s', (ms, text) => {
    expect(goTime(new Date(ms))).toBe(text);
  });
});
