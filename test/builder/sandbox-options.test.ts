import { describe, expect, it } from 'vitest';
import { parseByteSize, parseEntitlements, parseHostEntry, parseNetworkMode, parseUlimit } from '../../src/builder/sandbox-options.js';

describe('the sandbox flags of docker buildx build', () => {
  it.each([
    ['db=10.0.0.1', { name: 'db', address: '10.0.0.1' }],
    ['db:10.0.0.1', { name: 'db', address: '10.0.0.1' }],
    ['v6=fd00::1', { name: 'v6', address: 'fd00::1' }],
    ['v6:fd00::1', { name: 'v6', address: 'fd00::1' }],
    ['v6=[fd00::1]', { name: 'v6', address: 'fd00::1' }],
  ])('--add-host %s', (text, entry) => expect(parseHostEntry(text)).toEqual(entry));

  it.each([['db'], ['=10.0.0.1'], ['db=not-an-ip'], ['db=300.1.1.1']])('--add-host %s is refused', (text) =>
    expect(() => parseHostEntry(text)).toThrow(`invalid --add-host "${text}": expected NAME=IP`),
  );

  it.each([
    ['nofile=1024:2048', { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }],
    ['nproc=512', { type: 'RLIMIT_NPROC', soft: 512, hard: 512 }],
    ['core=-1', { type: 'RLIMIT_CORE', soft: 2 ** 64 - 1, hard: 2 ** 64 - 1 }],
  ])('--ulimit %s', (text, limit) => expect(parseUlimit(text)).toEqual(limit));

  it.each([
    ['files=1', 'invalid --ulimit "files=1": expected NAME=SOFT[:HARD]'],
    ['nofile=2048:1024', 'invalid --ulimit "nofile=2048:1024": the soft limit is above the hard one'],
    ['nofile', 'invalid --ulimit "nofile": expected NAME=SOFT[:HARD]'],
  ])('--ulimit %s is refused', (text, message) => expect(() => parseUlimit(text)).toThrow(message));

  it.each([
    ['64m', 64 * 1024 * 1024],
    ['1g', 1024 ** 3],
    ['4096', 4096],
    ['512kb', 512 * 1024],
  ])('--shm-size %s', (text, bytes) => expect(parseByteSize(text, '--shm-size')).toBe(bytes));

  it('--network and --allow take BuildKit’s names only', () => {
    expect(['default', 'none', 'host'].map(parseNetworkMode)).toEqual(['default', 'none', 'host']);
    expect(() => parseNetworkMode('bridge')).toThrow('invalid --network "bridge"');
    expect(parseEntitlements(['network.host,security.insecure', 'network.host'])).toEqual(['network.host', 'security.insecure']);
    expect(() => parseEntitlements(['device'])).toThrow('unknown entitlement device');
    expect(() => parseByteSize('lots', '--shm-size')).toThrow('invalid --shm-size "lots": expected a size such as 64m or 1g');
  });
});
