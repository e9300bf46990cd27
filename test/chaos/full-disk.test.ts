/**
 * A full disk (a small tmpfs as the state root): writing a layer, or pulling a layer that does not
 * fit, fails with one line naming what was being written and where; no half-written blob is left
 * visible and no ingest file stays; once space is freed (the tmpfs grown), the same command
 * succeeds. A RUN whose own writes do not fit fails as its process does, with its output.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { writeBusyboxLayout, type LayoutImage } from '../helpers/oci-image.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { leftovers, verifyBlobs } from '../helpers/state-root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-chaos-disk-');
const SMALL = '32m';
let layouts: string;
let registry: TestRegistry;
let big: LayoutImage['manifests'][number];
const mounted: string[] = [];

beforeAll(async () => {
  if (!isRoot || !registryAvailable) return;
  layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-chaos-disk-layouts-'));
  registry = await startRegistry();
  await writeBusyboxLayout(path.join(layouts, 'bb'), '1', ['linux/amd64']);
  await skopeoPush(path.join(layouts, 'bb'), '1', `${registry.host}/busybox:1`);
  // 40 MB of random bytes: a layer that cannot fit in the small disk, compressed or not.
  const layout = await writeBusyboxLayout(path.join(layouts, 'big'), '1', ['linux/amd64'], 'oci', { payload: randomBytes(40 * 1024 * 1024) });
  big = layout.manifests[0] as LayoutImage['manifests'][number];
  await skopeoPush(path.join(layouts, 'big'), '1', `${registry.host}/big:1`);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  if (layouts) rmSync(layouts, { recursive: true, force: true });
});
afterEach(() => {
  for (const dir of mounted.splice(0)) execFileSync('umount', [dir]);
});

/** A state root on its own tmpfs of `size`. */
function smallDisk(): string {
  const root = path.join(tempDir(), 'root');
  mkdirSync(root);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SMALL}`, 'tmpfs', root]);
  mounted.push(root);
  return root;
}

const grow = (root: string): void => void execFileSync('mount', ['-o', 'remount,size=128m', root]);

const env = (): NodeJS.ProcessEnv => ({ TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() });

/**
 * Nothing half-written: no ingest file, every blob whole, no active snapshot, scratch dir or mount,
 * no step snapshot committed whose cache record the failure kept from being written.
 */
function expectClean(root: string): void {
  const left = leftovers(root);
  expect({
    ingest: left.ingest,
    activeSnapshots: left.activeSnapshots,
    unrecordedSteps: left.unrecordedSteps,
    scratch: left.scratch,
    mounts: left.mounts.filter((m) => m !== root),
  }).toEqual({
    ingest: [],
    activeSnapshots: [],
    unrecordedSteps: [],
    scratch: [],
    mounts: [],
  });
  expect(verifyBlobs(root).bad).toEqual([]);
}

describe.skipIf(!isRoot || !registryAvailable)(`a ${SMALL} state root`, () => {
  it('a layer that does not fit: one line naming the step and the root, nothing half-written; after space is freed the build succeeds', () => {
    const root = smallDisk();
    const context = tempDir();
    // 20 MB of random bytes fit in the snapshot; the layer made of them no longer does.
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${registry.host}/busybox:1\nRUN busybox head -c 20000000 /dev/urandom > /big\n`);
    const build = () => tsbuild(['--root', root, 'build', '-q', '-t', 'app:1', context], { env: env(), timeout: 60_000 });
    const full = build();
    expect([full.status, full.stdout]).toEqual([1, '']);
    // buildx's block: the step, the Dockerfile excerpt, then the one line saying why.
    expect(full.stderr).toBe(
      [
        '------',
        ' > [2/2] RUN busybox head -c 20000000 /dev/urandom > /big:',
        '------',
        'Dockerfile:2',
        '--------------------',
        `   1 |     FROM ${registry.host}/busybox:1`,
        '   2 | >>> RUN busybox head -c 20000000 /dev/urandom > /big',
        '   3 |     ',
        '--------------------',
        `ERROR: failed to build: failed to solve: no space left on device writing the layer of [2/2] RUN busybox head -c 20000000 /dev/urandom > /big to ${root}`,
        '',
      ].join('\n'),
    );
    expectClean(root);
    grow(root);
    const freed = build();
    expect([freed.status, freed.stderr]).toEqual([0, '']);
    expect(freed.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expectClean(root);
  });

  it('a pulled layer that does not fit: one line naming the layer and the image, no blob of it; after space is freed the pull succeeds', () => {
    const root = smallDisk();
    const pull = () => tsbuild(['--root', root, 'pull', '-q', `${registry.host}/big:1`], { env: env(), timeout: 60_000 });
    const full = pull();
    expect([full.status, full.stdout]).toEqual([1, '']);
    expect(full.stderr).toBe(`error: no space left on device writing layer ${big.layers[1]} of ${registry.host}/big:1 to ${root}\n`);
    expectClean(root);
    expect(readdirSync(path.join(root, 'blobs', 'sha256'))).not.toContain(big.layers[1]?.slice(7));
    expect(tsbuild(['--root', root, 'images', '-q'], { env: env() }).stdout).toBe('');
    grow(root);
    const freed = pull();
    expect([freed.status, freed.stdout, freed.stderr]).toEqual([0, `${big.digest}\n`, '']);
    expectClean(root);
  });

  it('a RUN whose own writes do not fit fails as its process does, with the end of its output', () => {
    const root = smallDisk();
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${registry.host}/busybox:1\nRUN busybox dd if=/dev/zero of=/big bs=1M count=40\n`);
    const full = tsbuild(['--root', root, 'build', '-q', context], { env: env(), timeout: 60_000 });
    expect([full.status, full.stdout]).toEqual([1, '']);
    expect(full.stderr.replace(/\d+\+0 records/g, 'N+0 records')).toBe(
      [
        '------',
        ' > [2/2] RUN busybox dd if=/dev/zero of=/big bs=1M count=40:',
        "dd: error writing '/big': No space left on device",
        'N+0 records in',
        'N+0 records out',
        '------',
        'Dockerfile:2',
        '--------------------',
        `   1 |     FROM ${registry.host}/busybox:1`,
        '   2 | >>> RUN busybox dd if=/dev/zero of=/big bs=1M count=40',
        '   3 |     ',
        '--------------------',
        'ERROR: failed to build: failed to solve: process "/bin/sh -c busybox dd if=/dev/zero of=/big bs=1M count=40" did not complete successfully: exit code: 1',
        '',
      ].join('\n'),
    );
    expectClean(root);
  });
});
