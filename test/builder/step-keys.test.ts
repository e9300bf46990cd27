/**
 * A RUN's key carries the platform it runs as (BuildKit's ExecOp does too): the same command in a
 * scratch-based stage of two platforms must not share a result, while everything else equal gives
 * the same definition.
 */
import { describe, expect, it } from 'vitest';
import { execKeyParts } from '../../src/builder/step-keys.js';
import { ChecksumCache } from '../../src/fileops/checksum.js';
import { parsePlatform } from '../../src/image/platform.js';
import { cacheKey } from '../../src/solve/cache-key.js';
import { onlyRun, plan } from '../helpers/plan.js';

describe('execKeyParts', () => {
  const step = onlyRun(plan('FROM scratch\nRUN ["/tool", "--build"]\n'));
  const checksums = new ChecksumCache();
  const keyFor = async (platform: string): Promise<string> =>
    cacheKey({ definition: (await execKeyParts(step, parsePlatform(platform), undefined, checksums)).definition });

  it('differs by platform and only by it', async () => {
    const [amd64, arm64, arm64v8, again] = await Promise.all([
      keyFor('linux/amd64'),
      keyFor('linux/arm64'),
      keyFor('linux/arm64/v8'),
      keyFor('linux/amd64'),
    ]);
    expect(amd64).not.toBe(arm64);
    expect([arm64v8, again]).toEqual([arm64, amd64]);
    expect(((await execKeyParts(step, parsePlatform('linux/arm/v7'), undefined, checksums)).definition as { platform: string }).platform).toBe(
      'linux/arm/v7',
    );
  });
});
