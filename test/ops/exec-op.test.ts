/**
 * RUN end to end below the solver: Dockerfiles are planned, and their RUN steps executed one after
 * the other with real runc over overlay snapshots on a busybox base.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { applyLayer } from '../../src/diff/applier.js';
import type { LayerResult } from '../../src/diff/layer-writer.js';
import type { Digest } from '../../src/digest/digest.js';
import { runExec } from '../../src/ops/exec-op.js';
import { resolveInRoot } from '../../src/fileops/resolve.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild } from '../../src/plan/plan.js';
import type { ExecStep } from '../../src/plan/types.js';
import { ExecError } from '../../src/runtime/exec-error.js';
import { mountsUnder } from '../../src/runtime/mount.js';
import { RuncExecutor } from '../../src/runtime/runc.js';
import { MountDiffer } from '../../src/diff/differ.js';
import { testNetworks, type TestNetworks } from '../helpers/networks.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { CopyingSnapshotter } from '../../src/snapshot/copying.js';
import type { DirectorySnapshotter } from '../../src/snapshot/directory-snapshotter.js';
import { selectSnapshotter } from '../../src/snapshot/select.js';
import { busyboxLayer, makeLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { treeListing, umociUnpack } from '../helpers/umoci.js';
import { layerEntries } from '../helpers/layers.js';

const tempDir = useTempDirs('tsbuild-exec-');

interface Built {
  root: string;
  store: LocalContentStore;
  snaps: DirectorySnapshotter;
  layers: LayerResult[];
  output: string;
  base: Array<{ gz: Buffer; diffId: string }>;
}

/** Plans `dockerfile` (FROM base) and runs its RUN steps on busybox + a small data layer. */
async function build(
  dockerfile: string,
  options: {
    buildArgs?: Record<string, string>;
    secrets?: Record<string, Buffer>;
    contextDir?: string;
    root?: string;
    signal?: AbortSignal;
    onOutput?: () => void;
    copying?: boolean;
    sshAgents?: Record<string, string>;
    sourceDir?: string;
    nets?: TestNetworks;
  } = {},
): Promise<Built> {
  const root = options.root ?? tempDir();
  const store = new LocalContentStore(root);
  const snaps: DirectorySnapshotter = options.copying ? new CopyingSnapshotter(root) : new OverlaySnapshotter(root);
  const base = [
    await busyboxLayer(),
    await makeLayer([
      { name: 'data/', type: 'directory' },
      { name: 'data/a', data: Buffer.from('a') },
      { name: 'data/b', data: Buffer.from('b') },
    ]),
  ];
  let parent: string | undefined;
  if (!(await snaps.list()).some((s) => s.key === 'base-1')) {
    for (const [i, layer] of base.entries()) {
      await snaps.prepare(`unpack-${i}`, parent);
      await applyLayer(Readable.from([layer.gz]), await snaps.upperDir(`unpack-${i}`), { mode: snaps.kind === 'overlay' ? 'overlay' : 'plain' });
      await snaps.commit(`base-${i}`, `unpack-${i}`);
      parent = `base-${i}`;
    }
  }
  parent = 'base-1';
  const plan = planBuild(parseDockerfile(dockerfile), {
    buildPlatform: { os: 'linux', architecture: 'amd64' },
    baseImages: { base: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } },
    ...(options.buildArgs ? { buildArgs: options.buildArgs } : {}),
  });
  const runtime = new RuncExecutor(root);
  const layers: LayerResult[] = [];
  let output = '';
  const steps = plan.stages.at(-1)?.steps.filter((s): s is ExecStep => s.kind === 'exec') ?? [];
  const nets = options.nets ?? testNetworks(root);
  try {
    for (const [i, step] of steps.entries()) {
      const name = `step-${i}-${randomBytes(4).toString('hex')}`;
      layers.push(
        await runExec(step, parent, name, {
          snapshotter: snaps,
          executor: runtime,
          differ: new MountDiffer(store, root),
          networks: nets.networks,
          root,
          ...(options.contextDir ? { contextSource: (source: string) => resolveInRoot(options.contextDir as string, source) } : {}),
          ...(options.secrets ? { secrets: options.secrets } : {}),
          ...(options.sshAgents ? { sshAgents: options.sshAgents } : {}),
          ...(options.sourceDir ? { sourceDir: async () => options.sourceDir as string } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          output: (chunk) => {
            output += chunk.toString();
            options.onOutput?.();
          },
        }),
      );
      parent = name;
    }
  } finally {
    await nets.close();
  }
  return { root, store, snaps, layers, output, base };
}

async function expectClean(b: Built): Promise<void> {
  expect(execFileSync('runc', ['--root', path.join(b.root, 'runc', 'state'), 'list', '-q'], { encoding: 'utf8' })).toBe('');
  expect(await mountsUnder(b.root)).toEqual([]);
  expect((await b.snaps.list()).filter((s) => s.kind !== 'committed')).toEqual([]);
}

/**
 * What any RUN on the test base leaves, as in BuildKit: the runtime's mount points, which the base
 * lacks, and /etc, whose time changed when the stubs for /etc/hosts and /etc/resolv.conf came and went.
 */
const RUNTIME_DIRS = ['directory dev/', 'directory etc/', 'directory proc/', 'directory sys/'];

/** A RUN that creates, modifies, deletes, and replaces a directory. */
const CHANGES =
  'FROM base\nRUN echo new > /new.txt && echo "app:x:1000:1000::/:/bin/sh" >> /etc/passwd && rm /bin/cat && rm -rf /data && mkdir /data && echo c > /data/c\n';

describe.skipIf(!isRoot)('RUN with runc over overlay snapshots', () => {
  it('creates, modifies, deletes and replaces a directory: exactly those layer entries, and umoci agrees', async () => {
    const b = await build(CHANGES);
    const [layer] = b.layers;
    if (!layer) throw new Error('no layer');
    expect(await layerEntries(b.store, layer.descriptor.digest)).toEqual([
      'directory bin/',
      'file bin/.wh.cat',
      'directory data/',
      'file data/.wh..wh..opq',
      'file data/c',
      'directory dev/',
      'directory etc/',
      'file etc/passwd',
      'file new.txt',
      'directory proc/',
      'directory sys/',
    ]);
    const blobs = b.base.map((l) => {
      const file = path.join(b.root, `base-${l.diffId.slice(7, 15)}.tgz`);
      writeFileSync(file, l.gz);
      return { file, digest: `sha256:${createHash('sha256').update(l.gz).digest('hex')}`, size: l.gz.length, diffID: l.diffId };
    });
    const rootfs = umociUnpack(tempDir(), [
      ...blobs,
      {
        file: b.store.blobPath(layer.descriptor.digest as Digest),
        digest: layer.descriptor.digest,
        size: layer.descriptor.size,
        diffID: layer.diffID,
      },
    ]);
    const tree = treeListing(rootfs);
    expect(tree.filter((l) => l.startsWith('data') || l.startsWith('new.txt') || l.startsWith('bin/cat'))).toEqual([
      'data dir 755 0:0',
      'data/c file:2 644 0:0',
      'new.txt file:4 644 0:0',
    ]);
    expect(
      readFileSync(path.join(rootfs, 'etc', 'passwd'), 'utf8')
        .split('\n')
        .at(-2),
    ).toBe('app:x:1000:1000::/:/bin/sh');
    await expectClean(b);
  });

  it('does the same on the copying snapshotter, whose walking diff writes each deletion', async () => {
    const b = await build(CHANGES, { copying: true });
    const [layer] = b.layers;
    if (!layer) throw new Error('no layer');
    expect(await layerEntries(b.store, layer.descriptor.digest)).toEqual([
      'directory bin/',
      'file bin/.wh.cat',
      'directory data/',
      'file data/.wh.a',
      'file data/.wh.b',
      'file data/c',
      'directory dev/',
      'directory etc/',
      'file etc/passwd',
      'file new.txt',
      'directory proc/',
      'directory sys/',
    ]);
    await expectClean(b);
  });

  it('chooses overlay where it mounts, and records the choice so later builds skip the probe', async () => {
    const notices: string[] = [];
    const root = tempDir();
    expect((await selectSnapshotter(root, (m) => notices.push(m))).kind).toBe('overlay');
    expect(notices).toEqual([]);
    expect(readFileSync(path.join(root, 'snapshotter'), 'utf8')).toBe('overlay\n');
    // A root that chose copying keeps it (its snapshots are plain directories).
    writeFileSync(path.join(root, 'snapshotter'), 'copying\n');
    expect((await selectSnapshotter(root)).kind).toBe('copying');
  });

  it('falls back to copying, saying so, where overlay cannot mount (a root inside an overlay)', async () => {
    const dir = tempDir();
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/merged`]);
    try {
      const notices: string[] = [];
      const root = path.join(dir, 'merged', 'state');
      expect((await selectSnapshotter(root, (m) => notices.push(m))).kind).toBe('copying');
      expect(notices).toEqual([`overlayfs is not available under ${root}: using the copying snapshotter (slower, more disk)`]);
    } finally {
      execFileSync('umount', [`${dir}/merged`]);
    }
  });

  it('applies USER, WORKDIR, SHELL, ENV and ARG (in the environment, not expanded by the builder)', async () => {
    const b = await build(
      [
        'FROM base',
        'ARG VERSION=1.2',
        'ENV GREETING="hello world"',
        'WORKDIR /srv/app',
        'USER nobody',
        'SHELL ["/bin/sh", "-ec"]',
        'RUN echo "$(id -u):$(id -g):$(id -G):$(pwd):$GREETING:$VERSION:$HOME"',
      ].join('\n'),
      { buildArgs: { VERSION: '2.0' } },
    );
    // HOME comes from passwd, as runc and docker set it.
    expect(b.output).toBe('65534:65534:65534:/srv/app:hello world:2.0:/nonexistent\n');
    await expectClean(b);
  });

  it('runs root with groups 0 and 10, and exec form as is', async () => {
    const b = await build('FROM base\nRUN ["/bin/sh", "-c", "id -G; echo exec"]\n');
    expect(b.output).toBe('0 10\nexec\n');
  });

  it('runs a #! heredoc with its interpreter and a plain heredoc with the shell', async () => {
    const b = await build(
      'FROM base\nRUN <<EOF\n#!/bin/sh\necho "script $0"\nEOF\nRUN <<EOF\necho "i am" > /dest; whoami >> /dest; cat /dest\nEOF\n',
    );
    expect(b.output).toBe('script /dev/pipes/EOF\ni am\nroot\n');
  });

  it('fails with the command, its exit code and the tail of its output; nothing is left', async () => {
    // One stream only: the order of chunks across stdout and stderr pipes is not defined.
    const err = await build('FROM base\nRUN echo "some output"; echo "last words"; exit 3\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as ExecError).describe()).toBe(
      'process "/bin/sh -c echo "some output"; echo "last words"; exit 3" did not complete successfully: exit code: 3\n  | some output\n  | last words',
    );
  });

  it('gives tmpfs, cache, bind and secret mounts, none of which reaches the layer', async () => {
    const context = tempDir();
    writeFileSync(path.join(context, 'input.txt'), 'from the context\n');
    const root = tempDir();
    const dockerfile = [
      'FROM base',
      'RUN --mount=type=tmpfs,target=/scratch,size=1m --mount=type=cache,target=/cache,uid=1001,gid=1002,mode=0751 \\',
      '    --mount=target=/ctx --mount=type=bind,target=/rw,rw --mount=type=secret,id=token --mount=type=secret,id=token,env=TOKEN \\',
      '    echo x > /scratch/f && grep " /scratch " /proc/mounts | grep -o "size=[0-9]*k" && echo run >> /cache/log && cat /cache/log | wc -l && stat -c "%u %g %a" /cache && cat /ctx/input.txt && echo changed > /rw/input.txt && cat /run/secrets/token && echo " $TOKEN" && stat -c %a /run/secrets/token',
    ].join('\n');
    const secrets = { token: Buffer.from('s3cret') };
    const first = await build(dockerfile, { root, contextDir: context, secrets });
    expect(first.output).toBe('size=1024k\n1\n1001 1002 751\nfrom the context\ns3cret s3cret\n400\n');
    expect(readFileSync(path.join(context, 'input.txt'), 'utf8')).toBe('from the context\n');
    // Only what the runtime's own mount points leave, which BuildKit's layers have too.
    expect(await layerEntries(first.store, (first.layers[0] as LayerResult).descriptor.digest)).toEqual(RUNTIME_DIRS);
    const second = await build(dockerfile, { root, contextDir: context, secrets });
    expect(second.output.split('\n')[1]).toBe('2');
    await expectClean(second);
  });

  it('serialises RUNs on a locked cache and gives a busy private cache to no one else', async () => {
    const root = tempDir();
    await build('FROM base\nRUN true\n', { root });
    const run = (sharing: string): Promise<Built> =>
      build(
        `FROM base\nRUN --mount=type=cache,id=c-${sharing},target=/c,sharing=${sharing} echo start >> /c/log; sleep 0.5; echo end >> /c/log; cat /c/log | tr '\\n' ' '\n`,
        { root },
      );
    const locked = await Promise.all([run('locked'), run('locked')]);
    expect(locked.map((b) => b.output).sort()).toEqual(['start end ', 'start end start end ']);
    // A private cache that another process holds: this RUN gets its own, the shared one stays untouched.
    const shared = path.join(root, 'cache', Buffer.from('c-private').toString('base64url'));
    mkdirSync(shared, { recursive: true });
    writeFileSync(`${shared}.lock`, String(process.pid));
    expect((await run('private')).output).toBe('start end ');
    expect(readdirSync(shared)).toEqual([]);
    rmSync(`${shared}.lock`);
    expect((await run('private')).output).toBe('start end ');
    expect(readdirSync(shared)).toEqual(['log']);
  });

  it('forwards an SSH agent socket and sets SSH_AUTH_SOCK', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'agent.sock');
    const agent = net.createServer((c) => c.end()).listen(socket);
    try {
      const b = await build('FROM base\nRUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK"\n', {
        sshAgents: { default: socket },
      });
      expect(b.output).toBe('/run/buildkit/ssh_agent.0\n');
      expect(await layerEntries(b.store, (b.layers[0] as LayerResult).descriptor.digest)).toEqual(RUNTIME_DIRS);
    } finally {
      agent.close();
    }
    await expect(build('FROM base\nRUN --mount=type=ssh,required true\n')).rejects.toThrow('ssh agent default: not found');
  });

  // BuildKit names the first ssh mount's target in SSH_AUTH_SOCK even when no agent stands behind
  // an optional mount; nothing is mounted there and no stub stays in the layer.
  it.each([
    ['the default target', 'type=ssh,required=false', '/run/buildkit/ssh_agent.0 absent\n'],
    ['its own target, the first of two', 'type=ssh,target=/agent --mount=type=ssh,id=other', '/agent absent\n'],
  ])('sets SSH_AUTH_SOCK for an optional ssh mount without an agent: %s', async (_name, mount, expected) => {
    const b = await build(`FROM base\nRUN --mount=${mount} echo "$SSH_AUTH_SOCK $(test -e "$SSH_AUTH_SOCK" && echo present || echo absent)"\n`);
    expect(b.output).toBe(expected);
    expect(await layerEntries(b.store, (b.layers[0] as LayerResult).descriptor.digest)).toEqual(RUNTIME_DIRS);
  });

  // BuildKit's socket has the mount's mode, uid and gid (default 0600 0:0); the host agent's is left as it is.
  it.each([
    ['the defaults', 'type=ssh', '600 0:0'],
    ['mode, uid and gid', 'type=ssh,mode=0660,uid=1000,gid=1001', '660 1000:1001'],
    ['a target and mode', 'type=ssh,target=/agent,mode=0755', '755 0:0'],
  ])('gives the ssh socket %s', async (_name, mount, expected) => {
    const dir = tempDir();
    const socket = path.join(dir, 'agent.sock');
    const agent = net.createServer((c) => c.end()).listen(socket);
    try {
      await new Promise((resolve) => agent.once('listening', resolve));
      chmodSync(socket, 0o777);
      const b = await build(`FROM base\nRUN --mount=${mount} stat -c '%a %u:%g' "$SSH_AUTH_SOCK"\n`, { sshAgents: { default: socket } });
      expect(b.output).toBe(`${expected}\n`);
      expect(statSync(socket).mode & 0o777).toBe(0o777);
    } finally {
      agent.close();
    }
  });

  it('binds a directory of another stage (given by the solver) read-only', async () => {
    const other = tempDir();
    writeFileSync(path.join(other, 'artifact'), 'built elsewhere\n');
    const b = await build(
      'FROM base AS other\nFROM base\nRUN --mount=from=other,target=/o cat /o/artifact && (touch /o/x 2>/dev/null || echo read-only)\n',
      { sourceDir: other },
    );
    expect(b.output).toBe('built elsewhere\nread-only\n');
    const seeded = await build('FROM base AS other\nFROM base\nRUN --mount=type=cache,from=other,target=/c cat /c/artifact\n', { sourceDir: other });
    expect(seeded.output).toBe('built elsewhere\n');
  });

  it('removes snapshots a dead process left active, keeping live ones', async () => {
    const snaps = new OverlaySnapshotter(tempDir());
    await snaps.prepare('exec-2147483647-dead');
    await snaps.prepare(`exec-${process.pid}-live`);
    expect(await snaps.removeStale()).toEqual(['exec-2147483647-dead']);
    expect((await snaps.list()).map((s) => s.key)).toEqual([`exec-${process.pid}-live`]);
  });

  // A missing required secret is refused. The network is made while the snapshot is prepared: a
  // step that fails before its process starts releases it at once, not only when the build closes
  // its providers.
  it.each([
    ['a missing required secret', 'RUN --mount=type=secret,id=absent,required true', 'secret absent: not found'],
    ['a bind from a source that does not exist', 'RUN --mount=type=bind,source=missing,target=/m true', 'missing'],
    ['a process that fails', 'RUN exit 3', 'exit code: 3'],
  ])('%s: the step network it prepared is released when the step fails', async (_name, run, message) => {
    const root = tempDir();
    const nets = testNetworks(root);
    const contextDir = tempDir();
    await expect(build(`FROM base\n${run}\n`, { root, nets, contextDir })).rejects.toThrow(message);
    expect(nets.counts()).toEqual({ prepared: 1, released: 1 });
  });

  // The second case: an image may hold a FIFO as /etc/passwd. runc's init waits on it for good
  // (BuildKit's runc as well), but tsbuild reads only a regular file there, so the RUN gets as far
  // as its container and Ctrl-C ends the build. (Read asynchronously, the FIFO held a thread-pool
  // thread and the build forever, Ctrl-C and SIGTERM included.)
  it.each([
    { name: 'mid-RUN kills the container', dockerfile: 'FROM base\nRUN echo started; sleep 60\n', after: 0 },
    {
      name: 'ends a RUN on an /etc/passwd that is a FIFO',
      dockerfile: 'FROM base\nRUN rm /etc/passwd && mkfifo /etc/passwd && echo made\nRUN echo never\n',
      after: 500,
    },
  ])('Ctrl-C $name and leaves no container, mount or active snapshot', async ({ dockerfile, after }) => {
    const root = tempDir();
    const controller = new AbortController();
    const run = build(dockerfile, {
      root,
      signal: controller.signal,
      onOutput: () => setTimeout(() => controller.abort(new Error('interrupted')), after),
    });
    await expect(run).rejects.toThrow('interrupted');
    expect(execFileSync('runc', ['--root', path.join(root, 'runc', 'state'), 'list', '-q'], { encoding: 'utf8' })).toBe('');
    expect(await mountsUnder(root)).toEqual([]);
    expect((await new OverlaySnapshotter(root).list()).filter((s) => s.kind !== 'committed')).toEqual([]);
    expect(readdirSync(path.join(root, 'runc', 'bundles'))).toEqual([]);
  });
});
