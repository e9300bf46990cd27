import { describe, expect, it } from 'vitest';
import { onFirstUse } from '../../src/util/on-first-use.js';

describe('onFirstUse', () => {
  it('makes nothing until asked, then once, and hands out the same value', () => {
    let made = 0;
    const value = onFirstUse(() => ({ n: ++made }));
    expect(made).toBe(0);
    const first = value();
    expect([made, first]).toEqual([1, { n: 1 }]);
    expect(value()).toBe(first);
    expect(made).toBe(1);
  });

  it('keeps a made undefined without making it again', () => {
    let made = 0;
    const value = onFirstUse(() => {
      made++;
      return undefined;
    });
    expect([value(), value(), made]).toEqual([undefined, undefined, 1]);
  });
});
