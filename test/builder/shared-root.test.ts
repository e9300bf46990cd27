/**
 * Several tsbuild processes on one state root (issue 24): builds of the same Dockerfile running at
 * once all succeed (no snapshot name collides, no build removes another's running container), a
 * `prune` run in the middle of them exits 0 and takes nothing they use, and the store verifies
 * afterwards: every blob matches its digest and every named image has all its blobs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../../src/verbs/build.js';
import { LocalContentStore } from '../../src/content/local-store.js';
import { parseDigest } from '../../src/digest/digest.js';
import { ImageIndex } from '../../src/images/image-index.js';
import type { Manifest } from '../../src/image/oci-types.js';
import { mountsUnder } from '../../src/runtime/mount.js';
import { testRequest } from '../helpers/build.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { projectRoot } from '../helpers/shared.js';
import { leftovers, NOTHING_LEFT } from '../helpers/state-root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { startProxy } from '../helpers/proxy.js';

const tempDir = useTempDirs('tsbuild-shared-root-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

/** Runs the CLI without waiting; resolves with its exit status and stderr. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'tsbuild.js'), ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Every blob's bytes hash to its name; every named image has its manifest, config and layers. */
async function verifyStore(root: string): Promise<{ blobs: number; bad: string[]; missing: string[] }> {
  const dir = path.join(root, 'blobs', 'sha256');
  const bad = readdirSync(dir).filter(
    (hex) =>
      createHash('sha256')
        .update(readFileSync(path.join(dir, hex)))
        .digest('hex') !== hex,
  );
  const store = new LocalContentStore(root);
  const missing: string[] = [];
  for (const image of await new ImageIndex(root).list()) {
    const manifest = JSON.parse((await store.readBytes(parseDigest(image.manifest.digest))).toString()) as Manifest;
    for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
      if (!(await store.info(parseDigest(digest)))) missing.push(`${image.name}: ${digest}`);
    }
  }
  return { blobs: readdirSync(dir).length, bad, missing };
}

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function context(lines: string[]): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'Dockerfile'), [`FROM ${busybox.registry().host}/busybox:1`, ...lines].join('\n'));
  return dir;
}

describe.skipIf(!isRoot || !registryAvailable)('one state root, several tsbuild processes', () => {
  it('three builds of one Dockerfile at once, with a prune --all between them: all succeed, the store verifies', async () => {
    const root = tempDir();
    // The second RUN waits until the test creates `go` in the context (bound live: no .dockerignore),
    // so prune runs while all three builds hold a finished first step and a running second one.
    const ctx = context([
      'RUN echo one > /one',
      "RUN --mount=type=bind,target=/ctx sh -c 'while [ ! -e /ctx/go ]; do busybox sleep 0.1; done; echo two > /two'",
      'RUN echo three > /three',
    ]);
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const builds = [1, 2, 3].map((n) => run(['--root', root, 'build', '-q', '-t', `app:${n}`, ctx], env));
    const containers = (): number =>
      spawnSync('runc', ['--root', path.join(root, 'runc', 'state'), 'list', '-q'], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean).length;
    let prune: Awaited<ReturnType<typeof run>>;
    try {
      await waitFor(() => containers() === 3);
      prune = await run(['--root', root, 'prune', '--all'], env);
    } finally {
      // Whatever happened, the builds may finish (a test never leaves them waiting).
      writeFileSync(path.join(ctx, 'go'), '');
    }
    const results = await Promise.all(builds);
    expect(results.map((r) => [r.status, r.stderr.includes('error')])).toEqual([
      [0, false],
      [0, false],
      [0, false],
    ]);
    expect(prune!.status).toBe(0);
    expect(prune!.stdout).toMatch(
      /^removed \d+ cache records, \d+ snapshots, \d+ blobs, 0 cache mounts \(.*\); kept [1-9]\d* cache records, [1-9]\d* snapshots and [1-9]\d* blobs that running builds use\n$/,
    );
    const verified = await verifyStore(root);
    expect([verified.bad, verified.missing]).toEqual([[], []]);
    // Nothing of any build or of the prune is left: no mount, scratch dir, container, lease, orphan.
    expect(leftovers(root)).toEqual(NOTHING_LEFT);
    expect(await mountsUnder(root)).toEqual([]);
  }, 90_000);

  it('prune --all while a build holds cache records (taken and made): they stay, and the next build is all cache', async () => {
    const root = tempDir();
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const steps = ['RUN echo one > /one', 'RUN echo two > /two'];
    const first = await run(['--root', root, 'build', '-q', context(steps)], env);
    expect([first.status, first.stderr]).toEqual([0, '']);
    // The second build takes `one` and `two` from the cache, makes `new`, and waits in its last step
    // until the test creates `go` in its context: prune runs meanwhile.
    const held = context([
      ...steps,
      'RUN echo new > /new',
      "RUN --mount=type=bind,target=/ctx sh -c 'while [ ! -e /ctx/go ]; do busybox sleep 0.1; done'",
    ]);
    const holding = run(['--root', root, 'build', '-q', held], env);
    let prune: Awaited<ReturnType<typeof run>>;
    try {
      await waitFor(() => spawnSync('runc', ['--root', path.join(root, 'runc', 'state'), 'list', '-q'], { encoding: 'utf8' }).stdout.trim() !== '');
      prune = await run(['--root', root, 'prune', '--all'], env);
    } finally {
      writeFileSync(path.join(held, 'go'), '');
    }
    const second = await holding;
    expect([second.status, second.stderr]).toEqual([0, '']);
    expect(prune!.status).toBe(0);
    expect(prune!.stdout).toMatch(/; kept 3 cache records, [1-9]\d* snapshots and [1-9]\d* blobs that running builds use\n$/);
    // The three records the prune found leased are there for the next build: nothing runs.
    const third = await run(['--root', root, 'build', '--progress=plain', context([...steps, 'RUN echo new > /new'])], env);
    expect(third.status, third.stderr).toBe(0);
    expect(third.stderr).toContain('0 steps run, 3 cached');
    const verified = await verifyStore(root);
    expect([verified.bad, verified.missing]).toEqual([[], []]);
    expect(leftovers(root)).toEqual(NOTHING_LEFT);
  }, 90_000);

  it('a push held up at the registry while prune --all runs: the push exits 0, the store verifies', async () => {
    const root = tempDir();
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The push's first request waits until prune has finished: by then the push has read the image
    // and gzipped its layer into the store (blobs no image names yet), and still has to send them.
    const proxy = await startProxy(busybox.registry().host, { fault: (_r, earlier) => (earlier.length === 0 ? { after: released } : undefined) });
    try {
      const name = `${proxy.host}/pushed:1`;
      const built = await run(['--root', root, 'build', '-q', '-t', name, context(['RUN echo pushed > /pushed'])], env);
      expect([built.status, built.stderr]).toEqual([0, '']);
      const pushing = run(['--root', root, 'push', name], env);
      let prune: Awaited<ReturnType<typeof run>>;
      try {
        await waitFor(() => proxy.log.length > 0);
        prune = await run(['--root', root, 'prune', '--all'], env);
      } finally {
        release();
      }
      const pushed = await pushing;
      expect(pushed.status).toBe(0);
      // The config, the gzipped layer and the base's layer and the manifest all reached the registry.
      expect(pushed.stderr).toMatch(/\/pushed:1: pushed sha256:[0-9a-f]{64} \(4 uploaded, 0 mounted, 0 already there\)\n$/);
      expect(prune!.status).toBe(0);
      const verified = await verifyStore(root);
      expect([verified.bad, verified.missing]).toEqual([[], []]);
      expect(leftovers(root)).toEqual(NOTHING_LEFT);
    } finally {
      await proxy.stop();
    }
  }, 90_000);

  it('two builds in one process making the same steps both commit (the snapshot names never collide)', async () => {
    const root = tempDir();
    const ctx = context(['RUN echo same > /same']);
    const request = testRequest({ context: ctx, root }, tempDir, { noCache: true });
    const [a, b] = await Promise.all([build(request), build({ ...request, tags: ['app:2'] })]);
    expect([a.ran, b.ran]).toEqual([1, 1]);
    expect((await verifyStore(root)).missing).toEqual([]);
  });
});
