/**
 * Rootless builds (issue 20), end to end: a real unprivileged user made by the test builds through
 * the CLI, which enters a user namespace mapped from the user's /etc/subuid range, and the image
 * is the one root builds from the same Dockerfile with SOURCE_DATE_EPOCH set: the same manifest
 * digest, hence the same config and layer digests, and a file tree read here from the layer tars
 * (owners 1000 stay 1000, not the subordinate id they have on disk; setuid bits; a whiteout; an
 * opaque directory written through `userxattr`).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tsbuild, tsbuildBytes } from '../helpers/cli.js';
import { describeImageArchive, tarEntries } from '../helpers/image-tree.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { rootlessAvailable, useRootlessUser, type RootlessUser } from '../helpers/rootless-user.js';
import { useTempDirs } from '../helpers/tmp.js';

const enabled = rootlessAvailable && registryAvailable;
const tempDir = useTempDirs('tsbuild-rootless-');
const busybox = useBusyboxRegistry(enabled);
const user = useRootlessUser(enabled);

const EPOCH = '1700000000';

function dockerfile(registry: string): string {
  return [
    `FROM ${registry}/busybox:1`,
    'COPY --chown=1000:1000 app.txt /app/app.txt',
    // The namespace's network: slirp4netns's interface with rootlesskit's MTU, as for root.
    'RUN cat /sys/class/net/eth0/mtu > /mtu',
    'RUN --mount=type=cache,target=/cache echo cached > /cache/c && cat /cache/c > /from-cache',
    'RUN mkdir -p /data /o && echo x > /data/f && chown -R 1000:1000 /data && chmod 4755 /data/f && echo a > /o/a && mkfifo /data/fifo',
    // A whiteout (a base file deleted) and an opaque directory (one replaced).
    'RUN rm /etc/group && rm -rf /o && mkdir /o && echo b > /o/b && chown 1000:1000 /o',
    // Files changed in place: copy-ups, whose directories keep the base's times (/bin) or take the
    // step's where the runtime's mount stubs came and went (/etc; /bin the second time).
    'RUN echo more >> /etc/passwd && chmod 775 /bin/busybox',
    'RUN --mount=type=tmpfs,target=/bin/mnt chmod 755 /bin/busybox',
    'USER 1000:1000',
    'RUN id -u > /data/who',
    '',
  ].join('\n');
}

describe.skipIf(!enabled)('rootless builds', () => {
  /** Root's build of the context, made once for the rows below. */
  let rootBuild: { out: string; id: string; context: string } | undefined;
  let contextDir: string | undefined;
  function buildAsRoot(): { out: string; id: string; context: string } {
    if (rootBuild) return rootBuild;
    const context = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-rootless-context-'));
    contextDir = context;
    writeFileSync(path.join(context, 'Dockerfile'), dockerfile(busybox.registry().host));
    writeFileSync(path.join(context, 'app.txt'), 'app\n');
    spawnSync('touch', ['-d', '@1600000000', path.join(context, 'app.txt'), path.join(context, 'Dockerfile')]);
    const out = path.join(context, 'root.tar');
    const state = path.join(context, 'state');
    const asRoot = tsbuild(['--root', state, 'build', '-q', '-o', `type=oci,dest=${out}`, context], {
      env: { SOURCE_DATE_EPOCH: EPOCH, TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: path.join(context, 'docker') },
      timeout: 180_000,
    });
    expect([asRoot.status, asRoot.stderr]).toEqual([0, '']);
    rmSync(state, { recursive: true, force: true });
    rootBuild = { out, id: asRoot.stdout, context };
    return rootBuild;
  }
  afterAll(() => {
    if (contextDir) rmSync(contextDir, { recursive: true, force: true });
  });

  it.each([
    // The kernel's overlayfs in the user namespace (Linux 5.11 and later), in the default root.
    { snapshotter: 'overlay-userxattr', env: {}, root: undefined, whiteout: 'c' },
    // fuse-overlayfs, the fallback of kernels before 5.11; whiteouts as devices 0/0 (Linux 5.8+).
    { snapshotter: 'fuse-overlayfs', env: { TSBUILD_SNAPSHOTTER: 'fuse-overlayfs' }, root: 'fuse-root', whiteout: 'c' },
    // fuse-overlayfs as on kernels before 5.8, which refuse a device 0/0 in a user namespace: `.wh.` files.
    {
      snapshotter: 'fuse-overlayfs',
      env: { TSBUILD_SNAPSHOTTER: 'fuse-overlayfs', FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT: '1' },
      root: 'fuse-wh-root',
      whiteout: 'f',
    },
  ])(
    'on $snapshotter (whiteouts: $whiteout) give the image root gives: manifest digest, config, layers and the file tree with owners and modes',
    async ({ snapshotter, env, root, whiteout }) => {
      const u = user();
      const built = buildAsRoot();
      // The same context for both: root's in a temp dir, the user's in its home.
      const userContext = path.join(u.home, 'ctx');
      if (!existsSync(userContext)) {
        cpSync(built.context, userContext, { recursive: true, preserveTimestamps: true, filter: (src) => !/\/(root\.tar|docker)$/.test(src) });
        spawnSync('chown', ['-R', `${u.name}:`, userContext]);
      }
      const rootArgs = root ? ['--root', path.join(u.home, root)] : [];
      const userOut = path.join(u.home, `user-${root ?? 'default'}.tar`);
      const asUser = u.run([...rootArgs, 'build', '-q', '-o', `type=oci,dest=${userOut}`, 'ctx'], {
        env: { SOURCE_DATE_EPOCH: EPOCH, ...env },
        tun: true,
        fuse: true,
        timeout: 180_000,
      });
      expect(asUser.stderr).toBe('');
      expect([asUser.status, asUser.stdout]).toEqual([0, built.id]);

      const [rootImage, userImage] = await Promise.all([describeImageArchive(built.out, 1650000000), describeImageArchive(userOut, 1650000000)]);
      expect(userImage).toEqual(rootImage);
      const line = (p: string): string | undefined => userImage.tree.find((l) => l.startsWith(`${p} `));
      expect(
        ['app/app.txt', 'data/f', 'data/fifo', 'data/who', 'o', 'o/a', 'o/b', 'etc/group', 'mtu', 'bin', 'bin/busybox', 'etc'].map(line),
      ).toEqual([
        'app/app.txt file 0644 1000:1000 4 8a8f60ecb09b7e64 2020-09-13T12:26:40Z',
        'data/f file 4755 1000:1000 2 73cb3858a687a849 build-time',
        'data/fifo fifo 0644 0:0 build-time',
        'data/who file 0644 1000:1000 5 83c02ac2d48c863d build-time',
        'o dir 0755 1000:1000 build-time',
        undefined,
        'o/b file 0644 0:0 2 0263829989b6fd95 build-time',
        undefined,
        'mtu file 0644 0:0 6 6392efc71db09dee build-time',
        'bin dir 0755 0:0 build-time',
        expect.stringMatching(/^bin\/busybox file 0755 0:0 \d+ [0-9a-f]{16} 1970-01-01T00:00:00Z$/),
        'etc dir 0755 0:0 build-time',
      ]);
      // The state is the user's (under XDG_DATA_HOME's default without --root), with the snapshotter it took.
      const state = root ? path.join(u.home, root) : path.join(u.home, '.local/share/tsbuild');
      expect(readFileSync(path.join(state, 'snapshotter'), 'utf8')).toBe(`${snapshotter}\n`);
      // `rm /etc/group`'s whiteout on disk: a device 0/0, or a `.wh.` file.
      const found = spawnSync('find', [path.join(state, 'snapshots'), '-name', whiteout === 'c' ? 'group' : '.wh.group', '-type', whiteout], {
        encoding: 'utf8',
      });
      expect(found.stdout.trim().split('\n')).toHaveLength(1);
      // 23 blobs: the store keeps the build's layers uncompressed beside the gzipped ones the OCI output carries.
      const du = u.run([...rootArgs, 'du'], { fuse: true });
      expect([du.status, du.stderr, du.stdout]).toEqual([
        0,
        '',
        expect.stringMatching(
          new RegExp(
            `^blobs: 23 \\(\\d\\.\\d\\dMB\\)\\nsnapshots: 10 \\(\\d\\.\\d\\dMB, ${snapshotter}\\)\\ncache records: 8\\ncache mounts: 1 \\(8\\.19kB\\)\\n {2}exec\\.cachemount {2}8\\.19kB {4}last used \\S+ {2}\\/cache\\n$`,
          ),
        ),
      ]);
    },
    400_000,
  );
});

/** The pids of `pid`'s children. */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}

/** Every process running as host uid `uid`, as `pid command`. */
function processesOf(uid: number): string[] {
  const out = spawnSync('ps', ['-o', 'pid=,args=', '-u', String(uid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Live processes running as host uid `uid` (zombies left to an init that has not reaped them yet are gone). */
function liveProcessesOf(uid: number): string[] {
  const out = spawnSync('ps', ['-o', 'pid=,stat=,args=', '-u', String(uid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 2 && !f[1]?.startsWith('Z'))
    .map((f) => `${f[0]} ${f.slice(2).join(' ')}`);
}

describe.skipIf(!enabled)('a rootless build killed with SIGKILL', () => {
  it.each([
    { snapshotter: 'overlay-userxattr', env: {}, root: undefined },
    // Its FUSE daemons die with the build (parent-death signal), and with them the mounts.
    { snapshotter: 'fuse-overlayfs', env: { TSBUILD_SNAPSHOTTER: 'fuse-overlayfs' }, root: 'fuse-kill-root' },
  ])(
    'on $snapshotter leaves nothing the next build does not reclaim: the step running as USER 1000 is stopped, the state root is clean',
    async (row) => {
      const u = user();
      const context = path.join(u.home, `killed-${row.snapshotter}`);
      mkdirSync(context);
      writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nUSER 1000\nRUN echo started && sleep 300\n`);
      spawnSync('chown', ['-R', `${u.name}:`, context]);
      const subuid = Number(
        /:(\d+):/.exec(
          readFileSync('/etc/subuid', 'utf8')
            .split('\n')
            .find((l) => l.startsWith(`${u.name}:`)) ?? '',
        )?.[1],
      );
      const stepUid = subuid + 999;

      try {
        await killAndRebuild(u, stepUid, row);
      } finally {
        // Whatever of the killed step a failure left running, by its pid.
        for (const line of processesOf(stepUid)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      }
    },
    300_000,
  );
});

async function killAndRebuild(
  u: RootlessUser,
  stepUid: number,
  row: { snapshotter: string; env: NodeJS.ProcessEnv; root: string | undefined },
): Promise<void> {
  const rootArgs = row.root ? ['--root', path.join(u.home, row.root)] : [];
  const runuser = u.start([...rootArgs, 'build', '--progress=plain', '--network=none', `killed-${row.snapshotter}`], { env: row.env, fuse: true });
  let output = '';
  runuser.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => runuser.once('exit', resolve));
  await expect.poll(() => output, { timeout: 60_000, interval: 100 }).toMatch(/^#2 [\d.]+ started$/m);
  expect(processesOf(stepUid)).toEqual([expect.stringMatching(/^\d+ sleep 300$/)]);
  if (row.snapshotter === 'fuse-overlayfs') expect(liveProcessesOf(u.uid).filter((p) => / fuse-overlayfs -f /.test(p))).toHaveLength(1);
  // The tsbuild the user started (runuser's child) is killed, as a CI timeout kills a job; the one
  // inside the namespace (its child) dies of the parent-death signal; the step runs on.
  const [outer] = childrenOf(runuser.pid as number);
  const [inner] = childrenOf(outer as number);
  process.kill(outer as number, 'SIGKILL');
  await exited;
  await expect.poll(() => existsSync(`/proc/${inner}`), { timeout: 10_000 }).toBe(false);
  expect(processesOf(stepUid)).toEqual([expect.stringMatching(/^\d+ sleep 300$/)]);
  // No FUSE daemon runs on (one would keep the namespace and its mounts); `runc run` waits for the step.
  await expect.poll(() => liveProcessesOf(u.uid).map((p) => p.replace(/^\d+ /, '').split(' ')[0]), { timeout: 10_000 }).toEqual(['runc']);

  const after = path.join(u.home, `after-${row.snapshotter}`);
  mkdirSync(after);
  writeFileSync(path.join(after, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN echo after > /after\n`);
  spawnSync('chown', ['-R', `${u.name}:`, after]);
  const next = u.run([...rootArgs, 'build', '-q', '--network=none', `after-${row.snapshotter}`], { env: row.env, fuse: true, timeout: 120_000 });
  expect([next.status, next.stderr]).toEqual([0, '']);
  await expect.poll(() => processesOf(stepUid), { timeout: 10_000 }).toEqual([]);
  await expect.poll(() => liveProcessesOf(u.uid), { timeout: 10_000 }).toEqual([]);
  const root = row.root ? path.join(u.home, row.root) : path.join(u.home, '.local/share/tsbuild');
  expect([
    readdirSync(path.join(root, 'runc', 'state')),
    readdirSync(path.join(root, 'runc', 'bundles')),
    readdirSync(path.join(root, 'tmp')),
  ]).toEqual([[], [], []]);
}

describe.skipIf(!enabled)('rootless outputs', () => {
  it('image, docker, oci, local, tar and registry outputs from one build, then a pull of the pushed image', async () => {
    const u = user();
    const registry = busybox.registry().host;
    const context = path.join(u.home, 'outputs');
    mkdirSync(context);
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${registry}/busybox:1\nRUN mkdir /data && echo x > /data/f && chown 1000:1000 /data/f\n`);
    spawnSync('chown', ['-R', `${u.name}:`, context]);
    const outputs = [
      'type=image',
      'type=docker,dest=out-docker.tar',
      'type=oci,dest=out-oci.tar',
      'type=local,dest=out-local',
      'type=tar,dest=out-rootfs.tar',
    ];
    const built = u.run(['build', '-q', '--network=none', '-t', `${registry}/app:rl`, '--push', ...outputs.flatMap((o) => ['-o', o]), 'outputs'], {
      env: { SOURCE_DATE_EPOCH: EPOCH },
      timeout: 180_000,
    });
    expect([built.status, built.stderr]).toEqual([0, '']);
    const digest = built.stdout.trim();

    // The registry has the image whose id (config digest) -q printed (skopeo, as root, is the independent reader).
    const inspected = spawnSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${registry}/app:rl`], { encoding: 'utf8' });
    expect((JSON.parse(inspected.stdout) as { config: { digest: string } }).config.digest).toBe(digest);
    // The local directory is the user's, files and all; the tars keep the image's owners.
    const local = statSync(path.join(u.home, 'out-local', 'data', 'f'));
    expect([local.uid, local.gid, readFileSync(path.join(u.home, 'out-local', 'data', 'f'), 'utf8')]).toEqual([u.uid, u.gid, 'x\n']);
    const rootfs = (await tarEntries(readFileSync(path.join(u.home, 'out-rootfs.tar')))).find(
      (e) => e.header.name.replace(/^\.?\//, '') === 'data/f',
    );
    expect([rootfs?.header.uid, rootfs?.header.gid]).toEqual([1000, 1000]);
    const oci = await describeImageArchive(path.join(u.home, 'out-oci.tar'), 1650000000);
    expect(oci.tree.find((l) => l.startsWith('data/f '))).toBe('data/f file 0644 1000:1000 2 73cb3858a687a849 build-time');
    const docker = (await tarEntries(readFileSync(path.join(u.home, 'out-docker.tar')))).find((e) => e.header.name === 'manifest.json');
    expect(JSON.parse(docker?.data.toString() ?? '[]')).toEqual([expect.objectContaining({ RepoTags: [`${registry}/app:rl`] })]);
    // Removing what the build wrote needs no namespace.
    expect(u.sh('rm -rf out-local out-docker.tar out-oci.tar out-rootfs.tar && echo removed').stdout).toBe('removed\n');

    const pulled = u.run(['pull', '-q', `${registry}/app:rl`], { timeout: 60_000 });
    // pull -q prints the manifest's digest.
    const manifestDigest = `sha256:${createHash('sha256').update(inspected.stdout).digest('hex')}`;
    expect([pulled.status, pulled.stdout, pulled.stderr]).toEqual([0, `${manifestDigest}\n`, '']);
  }, 300_000);
});

describe.skipIf(!enabled || !existsSync('/usr/bin/fuse-overlayfs'))('the rootless snapshotter probe', () => {
  it('takes fuse-overlayfs where overlay cannot mount in the namespace (a state root on an overlay), and says so in du', () => {
    const u = user();
    // An overlay of the test's: the kernel refuses another overlay's upper dir on it, FUSE does not.
    const dir = path.join(u.home, 'probe-overlay');
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(path.join(dir, d), { recursive: true });
    spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/merged`]);
    try {
      const state = path.join(dir, 'merged', 'state');
      mkdirSync(state);
      spawnSync('chown', [`${u.name}:`, state]);
      const du = u.run(['--root', state, 'du'], { fuse: true, timeout: 60_000 });
      expect([du.status, du.stderr, du.stdout]).toEqual([
        0,
        '',
        'blobs: 0 (0B)\nsnapshots: 0 (0B, fuse-overlayfs)\ncache records: 0\ncache mounts: 0 (0B)\n',
      ]);
      expect(readFileSync(path.join(state, 'snapshotter'), 'utf8')).toBe('fuse-overlayfs\n');
    } finally {
      spawnSync('umount', [`${dir}/merged`]);
    }
  });
});

describe.skipIf(!enabled)('rootless builds reading stdin or writing stdout', () => {
  // The relaunched command inherits stdin and stdout: what root reads or writes there, so does it.
  const stdinDockerfile = (registry: string): string =>
    `FROM ${registry}/busybox:1\nCOPY --chown=1000:1000 app.txt /app/app.txt\nRUN mkdir /data && echo x > /data/f && chown -R 1000:1000 /data\n`;

  it.each([
    ['a Dockerfile on stdin (-f -)', ['-f', '-', 'CONTEXT'], 'dockerfile'],
    ['a context tar on stdin (build -)', ['-'], 'tar'],
    ['the root file system as a tar on stdout (-o type=tar,dest=-)', ['-o', 'type=tar,dest=-', 'CONTEXT'], 'none'],
  ] as const)(
    '%s: the same as root',
    (_what, args, stdin) => {
      const u = user();
      const registry = busybox.registry().host;
      const context = tempDir();
      writeFileSync(path.join(context, 'Dockerfile'), stdinDockerfile(registry));
      writeFileSync(path.join(context, 'app.txt'), 'app\n');
      spawnSync('touch', ['-d', '@1600000000', path.join(context, 'app.txt'), path.join(context, 'Dockerfile')]);
      const userContext = path.join(u.home, `stdin-${stdin}`);
      cpSync(context, userContext, { recursive: true, preserveTimestamps: true });
      spawnSync('chown', ['-R', `${u.name}:`, userContext]);
      const input =
        stdin === 'dockerfile'
          ? readFileSync(path.join(context, 'Dockerfile'))
          : stdin === 'tar'
            ? spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '-C', context, '-c', '.']).stdout
            : Buffer.alloc(0);
      const command = (dir: string): string[] => ['build', '-q', '--network=none', ...args.map((a) => (a === 'CONTEXT' ? dir : a))];

      const asRoot = tsbuildBytes(['--root', tempDir(), ...command(context)], {
        env: { SOURCE_DATE_EPOCH: EPOCH, TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() },
        input,
        timeout: 180_000,
      });
      expect([asRoot.status, asRoot.stderr]).toEqual([0, '']);
      const asUser = u.runBytes(command(path.basename(userContext)), { env: { SOURCE_DATE_EPOCH: EPOCH }, input, timeout: 180_000 });
      expect([asUser.status, asUser.stderr]).toEqual([0, '']);
      // The image id (-q) or the whole tar, byte for byte.
      expect(asUser.stdout.equals(asRoot.stdout)).toBe(true);
      expect(asRoot.stdout.length).toBeGreaterThan(stdin === 'none' ? 1_000_000 : 71);
    },
    300_000,
  );
});
