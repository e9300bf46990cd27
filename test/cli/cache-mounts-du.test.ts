/**
 * Issue 22: `du` lists RUN cache mounts (type, size, last use) and `prune --all` or
 * `prune --filter type=exec.cachemount` removes them, as `buildx du`/`prune` do; a plain `prune`
 * keeps them. Through the real CLI with a real RUN in runc.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-cache-mounts-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

describe.skipIf(!isRoot || !registryAvailable)('RUN cache mounts in du and prune', () => {
  it.each([
    ['--all', ['prune', '--all']],
    ['--filter type=exec.cachemount', ['prune', '--filter', 'type=exec.cachemount']],
  ])('du lists a 300 kB cache mount; prune keeps it, prune %s removes it', (_what, pruneArgs) => {
    const context = tempDir();
    const root = tempDir();
    writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM ${busybox.registry().host}/busybox:1\nRUN --mount=type=cache,id=ux-cache,target=/c dd if=/dev/urandom of=/c/blob bs=1000 count=300\n`,
    );
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
      tsbuild(['--root', root, ...args], { env, timeout: 60_000 });
    const before = Date.now();
    expect(cli('build', '-q', context).status).toBe(0);
    const du = cli('du').stdout.split('\n');
    // 300 000 bytes take 75 blocks of 4 kB, plus the directory's own block.
    expect(du.find((l) => l.startsWith('cache mounts:'))).toMatch(/^cache mounts: 1 \(30\d\.\dkB\)$/);
    const line = du.find((l) => l.includes('exec.cachemount')) ?? '';
    const match = /^ {2}exec\.cachemount {2}(30\d\.\dkB) +last used (\S+) {2}ux-cache$/.exec(line);
    expect(match, line).not.toBeNull();
    expect(Date.parse(match?.[2] ?? '')).toBeGreaterThanOrEqual(before - 1000);

    expect(cli('prune').stdout).toMatch(/ 0 cache mounts /);
    expect(cli('du').stdout).toContain('cache mounts: 1 (');
    const pruned = cli(...pruneArgs);
    expect([pruned.status, pruned.stdout]).toEqual([0, expect.stringMatching(/, 1 cache mounts \(/)]);
    expect(cli('du').stdout).toContain('cache mounts: 0 (0B)\n');
  });

  it('refuses a filter it does not know', () => {
    const result = tsbuild(['--root', tempDir(), 'prune', '--filter', 'type=regular']);
    expect([result.status, result.stderr]).toEqual([1, 'error: unsupported --filter "type=regular"\nuse --filter type=exec.cachemount\n']);
  });
});
