import { describe, expect, it } from 'vitest';
import { digestOf, sha256Hex } from '../../src/digest/digest.js';

describe('digests of small values', () => {
  // FIPS 180-2's vectors, as a string and as bytes: the one-call hash gives what a Hash object gave.
  it.each([
    { data: '', hex: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    { data: 'abc', hex: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
    { data: 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', hex: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1' },
  ])('sha256 of "$data"', ({ data, hex }) => {
    expect(sha256Hex(data)).toBe(hex);
    expect(sha256Hex(Buffer.from(data))).toBe(hex);
    expect(digestOf(data)).toBe(`sha256:${hex}`);
  });
});
