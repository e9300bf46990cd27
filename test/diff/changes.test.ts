/** The order layer entries are written in: byte-wise by path component, parents before children. */
import { describe, expect, it } from 'vitest';
import { inPathOrder, type Change } from '../../src/diff/changes.js';

const add = (path: string): Change => ({ kind: 'add', path });

describe('inPathOrder', () => {
  it.each([
    [
      ['z', 'a b', 'a/b', 'a', 'a-b', 'ab', 'a/b/c', 'é'],
      ['a', 'a/b', 'a/b/c', 'a b', 'a-b', 'ab', 'z', 'é'],
    ],
    [
      ['etc/passwd', 'etc', 'etc.d/x', 'etc/group'],
      ['etc', 'etc/group', 'etc/passwd', 'etc.d/x'],
    ],
    [
      ['B', 'a', 'A', '_'],
      ['A', 'B', '_', 'a'],
    ],
    // Byte order of UTF-8, not UTF-16 code units: U+FF01 (EF BC 81) sorts before U+1F600 (F0 9F 98 80).
    [
      ['\u{1F600}', '\uFF01'],
      ['\uFF01', '\u{1F600}'],
    ],
    // Below the surrogates, comparing strings is comparing bytes: é (C3 A9) before 中 (E4 B8 AD), 'a/é' before 'a-'.
    [
      ['中', 'a-', 'é', 'a/é', 'a'],
      ['a', 'a/é', 'a-', 'é', '中'],
    ],
    [[], []],
  ])('%j → %j', (paths, expected) => {
    const changes = paths.map(add);
    expect(inPathOrder(changes).map((c) => c.path)).toEqual(expected);
    expect(changes.map((c) => c.path)).toEqual(paths); // the input is left as it was
  });
});
