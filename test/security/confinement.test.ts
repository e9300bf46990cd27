/**
 * A Dockerfile alone must not read or write the host (issue 24). Each case plants a canary on the
 * host, outside every root, then builds a Dockerfile that reaches for it through a symlink made by an
 * earlier step (or found in the context): a RUN bind or cache mount, a WORKDIR, a mount stub, a bind
 * of the host's root. The canary must be untouched and unread, and where BuildKit resolves the path
 * inside the stage instead, the build sees the stage's file of the same name. Real runc, overlay and
 * a real registry serving the busybox base.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { build } from '../../src/verbs/build.js';
import { LocalContentStore } from '../../src/content/local-store.js';
import { parseDigest } from '../../src/digest/digest.js';
import type { Manifest } from '../../src/image/oci-types.js';
import { mountsUnder } from '../../src/runtime/mount.js';
import { testRequest } from '../helpers/build.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { layerFile } from '../helpers/layers.js';

const tempDir = useTempDirs('tsbuild-confine-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

/** A host directory with a secret file in it, removed after each test. */
const canaries: string[] = [];
afterEach(() => {
  for (const dir of canaries.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function canary(): { dir: string; secret: string } {
  const dir = path.join('/tmp', `tsbuild-canary-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'secret'), 'HOST SECRET\n');
  canaries.push(dir);
  return { dir, secret: path.join(dir, 'secret') };
}

interface Attempt {
  error?: Error;
  /** What the RUN steps printed. */
  log: string;
  /** A file of the built image (the topmost layer that has it). */
  file: (name: string) => Promise<string | undefined>;
}

/**
 * Builds `lines` (`$BASE` is the busybox image) in a fresh context holding `files` (and whatever
 * `prepare` adds); the state root is checked for leftover mounts afterwards.
 */
async function attempt(lines: string[], files: Record<string, string> = {}, prepare?: (context: string) => void): Promise<Attempt> {
  const context = tempDir();
  const root = tempDir();
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(context, name)), { recursive: true });
    writeFileSync(path.join(context, name), content);
  }
  prepare?.(context);
  writeFileSync(path.join(context, 'Dockerfile'), lines.map((l) => l.replaceAll('$BASE', `${busybox.registry().host}/busybox:1`)).join('\n'));
  let log = '';
  let digest: string | undefined;
  let error: Error | undefined;
  try {
    const progress = { emit: (e: { type: string; chunk?: string }): void => void (e.type === 'log' ? (log += e.chunk ?? '') : undefined) };
    digest = (await build(testRequest({ context, root }, tempDir, { progress }))).digest;
  } catch (err) {
    error = err as Error;
  }
  expect(await mountsUnder(root)).toEqual([]);
  const store = new LocalContentStore(root);
  const file = async (name: string): Promise<string | undefined> => {
    if (!digest) return undefined;
    const manifest = JSON.parse((await store.readBytes(parseDigest(digest))).toString()) as Manifest;
    for (const layer of [...manifest.layers].reverse()) {
      const content = await layerFile(store, layer.digest, name);
      if (content !== undefined) return content;
    }
    return undefined;
  };
  return { ...(error ? { error } : {}), log, file };
}

describe.skipIf(!isRoot || !registryAvailable)('a Dockerfile cannot reach the host', () => {
  it('RUN --mount=type=bind,from=<stage> through a symlink to a host file reads the stage, never the host', async () => {
    const host = canary();
    const run = await attempt([
      'FROM $BASE AS e',
      // The stage has its own file at the host's path, and a link to that path.
      `RUN busybox mkdir -p ${host.dir} && echo inside > ${host.secret} && busybox ln -s ${host.secret} /leak`,
      'FROM $BASE',
      'RUN --mount=type=bind,from=e,source=leak,target=/m cat /m > /stolen',
    ]);
    expect(run.error).toBeUndefined();
    expect(await run.file('stolen')).toBe('inside\n');
  });

  it('a bind whose symlink leads nowhere inside the stage is "not found", not the host file', async () => {
    const host = canary();
    const run = await attempt([
      'FROM $BASE AS e',
      `RUN busybox ln -s ${host.secret} /leak`,
      'FROM $BASE',
      'RUN --mount=type=bind,from=e,source=leak,target=/m cat /m',
    ]);
    expect(run.error?.message).toBe('mount source leak not found');
    expect(run.log).not.toContain('HOST SECRET');
  });

  it('RUN --mount=type=cache,from=<stage>,source=<symlink> seeds the cache from the stage, never the host', async () => {
    const host = canary();
    writeFileSync(path.join(host.dir, 'inner'), 'HOST INNER\n');
    const run = await attempt([
      'FROM $BASE AS e',
      `RUN busybox mkdir -p ${host.dir} && echo seeded > ${host.dir}/inner && busybox ln -s ${host.dir} /leak`,
      'FROM $BASE',
      'RUN --mount=type=cache,id=c1,from=e,source=leak,target=/c cat /c/inner > /seen',
    ]);
    expect(run.error).toBeUndefined();
    expect(await run.file('seen')).toBe('seeded\n');
  });

  it('a context symlink to / binds the context root, not the host root', async () => {
    const host = canary();
    const run = await attempt(
      ['FROM $BASE', `RUN --mount=type=bind,source=hostroot,target=/h busybox ls /h > /listing && test ! -e /h${host.dir}`],
      { 'data/x': 'context x\n' },
      (context) => symlinkSync('/', path.join(context, 'hostroot')),
    );
    expect(run.error).toBeUndefined();
    expect(await run.file('listing')).toBe('Dockerfile\ndata\nhostroot\n');
  });

  it('a bind of a stage symlink to / cannot write the host (read-only, no submounts); a read-write bind writes nothing back', async () => {
    const name = `tsbuild-canary-${randomBytes(6).toString('hex')}`;
    const target = path.join('/dev/shm', name);
    try {
      const ro = await attempt([
        'FROM $BASE AS e',
        'RUN busybox ln -s / /hostroot',
        'FROM $BASE',
        `RUN --mount=type=bind,from=e,source=hostroot,target=/h busybox touch /h/dev/shm/${name}`,
      ]);
      expect(ro.error?.message).toMatch(/exit code: 1/);
      expect(ro.log).toMatch(/(Read-only file system|No such file or directory)/);
      const rw = await attempt([
        'FROM $BASE AS e',
        'RUN busybox ln -s / /hostroot && busybox mkdir -p /tmp',
        'FROM $BASE',
        `RUN --mount=type=bind,from=e,source=hostroot,target=/h,rw busybox touch /h/tmp/${name} /h/${name}`,
      ]);
      expect(rw.error).toBeUndefined();
      expect([existsSync(target), existsSync(path.join('/tmp', name)), existsSync(path.join('/', name))]).toEqual([false, false, false]);
    } finally {
      rmSync(target, { force: true });
    }
    expect(existsSync(target)).toBe(false);
  });

  it.each(['type=tmpfs', 'type=cache,id=confine', 'type=bind,source=data', 'type=secret,id=s'])(
    'a %s mount whose target is below a symlink to a host directory stays inside the rootfs',
    async (mount) => {
      const host = canary();
      const run = await attempt(['FROM $BASE', `RUN busybox ln -s ${host.dir} /e`, `RUN --mount=${mount},target=/e/v/m busybox true`], {
        'data/x': 'context x\n',
      });
      expect(run.error).toBeUndefined();
      expect(readdirSync(host.dir)).toEqual(['secret']);
    },
  );

  it('a bind of the context does not carry a mount below it: the host tmpfs is neither seen nor written', async () => {
    let mounted: string | undefined;
    try {
      const run = await attempt(
        ['FROM $BASE', 'RUN --mount=type=bind,target=/c busybox ls /c/sub > /listing; busybox touch /c/sub/written; true'],
        { 'data/x': 'context x\n' },
        (context) => {
          mounted = path.join(context, 'sub');
          mkdirSync(mounted);
          execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mounted]);
          writeFileSync(path.join(mounted, 'on-the-host-mount'), 'host\n');
        },
      );
      expect(run.error).toBeUndefined();
      expect(await run.file('listing')).toBe('');
      expect(readdirSync(mounted as string)).toEqual(['on-the-host-mount']);
    } finally {
      if (mounted) execFileSync('umount', [mounted]);
    }
  });

  it('WORKDIR through a symlink made by RUN creates the directory inside the image, not on the host', async () => {
    const host = canary();
    const run = await attempt(['FROM $BASE', `RUN busybox ln -s ${host.dir} /w`, 'WORKDIR /w/x', 'RUN busybox pwd > /pwd', 'WORKDIR /w/y/z']);
    expect(run.error).toBeUndefined();
    expect(readdirSync(host.dir)).toEqual(['secret']);
    // The shell prints the physical path: the link's target, inside the image.
    expect(await run.file('pwd')).toBe(`${host.dir}/x\n`);
  });

  it('a RUN whose cwd passes through a symlink creates it inside the rootfs', async () => {
    const host = canary();
    // The working directory of the last RUN does not exist yet when it starts: the runtime makes it.
    const run = await attempt([
      'FROM $BASE',
      'WORKDIR /a',
      `RUN busybox ln -s ${host.dir} /a/b && busybox rmdir /a 2>/dev/null; true`,
      'WORKDIR /a/b/c',
      'RUN true',
    ]);
    expect(run.error).toBeUndefined();
    expect(readdirSync(host.dir)).toEqual(['secret']);
  });

  it('a mount stub whose parent the step replaced with a symlink is left alone; the host directory survives', async () => {
    const host = canary();
    mkdirSync(path.join(host.dir, 'v'));
    const run = await attempt([
      'FROM $BASE',
      `RUN --mount=type=tmpfs,target=/e2/v busybox sh -c 'busybox mv /e2 /e2.old && busybox ln -s ${host.dir} /e2'`,
    ]);
    expect(run.error).toBeUndefined();
    expect(readdirSync(host.dir).sort()).toEqual(['secret', 'v']);
  });

  it('a bind of the context shows only what .dockerignore lets through', async () => {
    const run = await attempt(['FROM $BASE', 'RUN --mount=type=bind,target=/ctx busybox find /ctx | busybox sort > /listing'], {
      '.dockerignore': 'secret.txt\nbuild/\n!build/keep\n',
      'secret.txt': 'no\n',
      'app.txt': 'yes\n',
      'build/out': 'no\n',
      'build/keep': 'yes\n',
    });
    expect(run.error).toBeUndefined();
    expect(await run.file('listing')).toBe('/ctx\n/ctx/.dockerignore\n/ctx/Dockerfile\n/ctx/app.txt\n/ctx/build\n/ctx/build/keep\n');
  });
});
