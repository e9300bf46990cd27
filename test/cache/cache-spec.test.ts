import { describe, expect, it } from 'vitest';
import { parseCacheSpec } from '../../src/cache/cache-spec.js';

describe('cache specs', () => {
  it.each([
    ['type=local,dest=/tmp/c', 'to', { type: 'local', dir: '/tmp/c', mode: 'max' }],
    ['type=local,src=/tmp/c', 'from', { type: 'local', dir: '/tmp/c', mode: 'max' }],
    ['type=registry,ref=r.example/app:cache,mode=min', 'to', { type: 'registry', ref: 'r.example/app:cache', mode: 'min' }],
    ['type=registry,ref=r.example/app:cache', 'from', { type: 'registry', ref: 'r.example/app:cache', mode: 'max' }],
  ] as const)('%s (%s)', (spec, direction, expected) => {
    expect(parseCacheSpec(spec, direction)).toEqual(expected);
  });

  it.each([
    ['type=local,src=/tmp/c', 'to', 'invalid --cache-to "type=local,src=/tmp/c": type=local needs dest=DIR'],
    ['type=registry', 'from', 'invalid --cache-from "type=registry": type=registry needs ref=NAME:TAG'],
    ['type=registry,ref=a,mode=all', 'to', 'invalid --cache-to "type=registry,ref=a,mode=all": mode must be min or max, not "all"'],
    ['type=inline', 'to', '--cache-to type=inline is not supported'],
    ['ref=a', 'from', 'invalid --cache-from "ref=a": missing type='],
  ] as const)('rejects %s (%s)', (spec, direction, message) => {
    expect(() => parseCacheSpec(spec, direction)).toThrow(message);
  });
});
