import { describe, expect, it } from 'vitest';
import { formatPlatform, parsePlatform } from '../../src/image/platform.js';

describe('parsePlatform', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['arm64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['x86_64', 'linux/amd64'],
    ['Linux/AArch64', 'linux/arm64'],
    ['windows/amd64', 'windows/amd64'],
    ['linux/riscv64', 'linux/riscv64'],
  ])('%s is %s', (text, expected) => {
    expect(formatPlatform(parsePlatform(text))).toBe(expected);
  });

  it.each([
    ['bogus', 'invalid platform "bogus": unknown operating system or architecture'],
    ['foo/amd64', 'invalid platform "foo/amd64": unknown operating system "foo"'],
    ['linux/bogus', 'invalid platform "linux/bogus": unknown architecture "bogus"'],
    ['linux/', 'invalid platform "linux/": expected os/arch[/variant], e.g. linux/amd64'],
    ['linux/arm/v7/x', 'invalid platform "linux/arm/v7/x": expected os/arch[/variant], e.g. linux/amd64'],
  ])('refuses %s', (text, message) => {
    expect(() => parsePlatform(text)).toThrow(message);
  });
});
