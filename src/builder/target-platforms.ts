/**
 * The platforms a build is for: `--platform a,b` and repeated `--platform`, as buildx reads them
 * (comma-separated lists, each platform once, in the order given); the host's when none is given.
 */
import { InvalidArgumentError } from '../errors.js';
import { formatPlatform, parsePlatform, type Platform } from '../image/platform.js';

/** The distinct platforms of `specs` (each a platform or a comma-separated list); `host` when empty. */
export function targetPlatforms(specs: readonly string[], host: Platform): Platform[] {
  const platforms = new Map<string, Platform>();
  for (const spec of specs) {
    for (const text of spec.split(',')) {
      if (text.trim() === '')
        throw new InvalidArgumentError(`invalid platform list "${spec}": an empty entry`, { hint: 'e.g. linux/amd64,linux/arm64' });
      const platform = parsePlatform(text);
      platforms.set(formatPlatform(platform), platform);
    }
  }
  return platforms.size === 0 ? [host] : [...platforms.values()];
}
