/**
 * A `--cache-from` that cannot be used does not fail the build, as in BuildKit (which reports
 * "failed to configure registry cache importer" on the import step and builds on): through the
 * CLI, each kind of unusable registry cache prints one warning line naming the ref and the cause,
 * the build runs without it and exits 0.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-cache-import-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);
let closedPort: number;
beforeAll(async () => {
  closedPort = await freePort();
});

describe.skipIf(!isRoot || !registryAvailable)('tsbuild build --cache-from that cannot be imported', () => {
  it.each([
    {
      name: 'an unreachable registry',
      ref: () => `127.0.0.1:${closedPort}/cache:1`,
      cause: () =>
        `cannot reach registry 127.0.0.1:${closedPort} (GET http://127.0.0.1:${closedPort}/v2/cache/manifests/1): ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${closedPort})`,
    },
    {
      name: 'no cache at the ref',
      ref: () => `${busybox.registry().host}/cache:none`,
      cause: (host = busybox.registry().host) =>
        `manifest unknown: tag none of ${host}/cache not found (GET http://${host}/v2/cache/manifests/none → 404)`,
    },
    {
      name: 'an image that is not a cache',
      ref: () => `${busybox.registry().host}/busybox:1`,
      cause: () => `${busybox.registry().host}/busybox:1 is not a tsbuild build cache (config type application/vnd.oci.image.config.v1+json)`,
    },
  ])('$name: one warning line, the build runs, exit 0', ({ ref, cause }) => {
    const context = tempDir();
    writeFileSync(path.join(context, 'hello.txt'), 'hello\n');
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const result = tsbuild(['--root', tempDir(), 'build', '--progress=plain', '--cache-from', `type=registry,ref=${ref()}`, context], {
      env,
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(result.stderr.split('\n').filter((line) => /warn|error/i.test(line))).toEqual([
      `warning: cannot import the build cache from ${ref()}: ${cause()}; building without it`,
    ]);
    expect(result.stderr).toContain('1 steps run, 0 cached');
  });
});
