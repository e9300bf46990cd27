/** `--platform` lists as buildx reads them: comma-separated or repeated, each once, in order. */
import { describe, expect, it } from 'vitest';
import { targetPlatforms } from '../../src/builder/target-platforms.js';
import { formatPlatform, parsePlatform } from '../../src/image/platform.js';

const host = parsePlatform('linux/amd64');

describe('targetPlatforms', () => {
  const cases: Array<[string[], string[]]> = [
    [[], ['linux/amd64']],
    [['linux/arm64'], ['linux/arm64']],
    [['linux/amd64,linux/arm64'], ['linux/amd64', 'linux/arm64']],
    [
      ['linux/arm64', 'linux/amd64'],
      ['linux/arm64', 'linux/amd64'],
    ],
    [
      ['linux/amd64, linux/arm64/v8', 'arm64'],
      ['linux/amd64', 'linux/arm64'],
    ],
    [
      ['linux/arm', 'linux/arm/v7', 'linux/arm/v6'],
      ['linux/arm/v7', 'linux/arm/v6'],
    ],
  ];
  it.each(cases)('%j → %j', (specs, expected) => {
    expect(targetPlatforms(specs, host).map(formatPlatform)).toEqual(expected);
  });

  const bad: Array<[string, string]> = [
    ['linux/amd64,', 'invalid platform list "linux/amd64,": an empty entry'],
    ['linux/amd64,,linux/arm64', 'invalid platform list "linux/amd64,,linux/arm64": an empty entry'],
    ['linux/amd64,linux/nope', 'invalid platform "linux/nope": unknown architecture "nope"'],
  ];
  it.each(bad)('refuses %s', (spec, message) => {
    expect(() => targetPlatforms([spec], host)).toThrow(message);
  });
});
