/**
 * tsbuild inside an unprivileged container (issue 20): a container of the reference Docker Engine
 * started as an ordinary user, without --privileged and without added capabilities, builds
 * rootless and gets root's image, with the options docs/rootless.md gives
 * (`--security-opt seccomp=unconfined --security-opt systempaths=unconfined`, `--device
 * /dev/net/tun`, newuidmap/newgidmap with file capabilities in the image). Without them, each
 * missing piece is tsbuild's one line, at once: Docker's default seccomp profile refuses
 * unshare(2); Debian's setuid newuidmap cannot map without CAP_SYS_ADMIN.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { modernBuildKitAvailable, modernDockerHost } from '../helpers/dockerd.js';
import { describeImageArchive } from '../helpers/image-tree.js';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { CAPABILITY_HELPERS, CONTAINER_USER, makeRootlessImage, type RootlessImage } from '../helpers/rootless-container.js';
import { rootlessAvailable, tunOpenToAll } from '../helpers/rootless-user.js';
import { useTempDirs } from '../helpers/tmp.js';

const enabled = modernBuildKitAvailable && rootlessAvailable && existsSync('/usr/bin/setfattr') && existsSync('/usr/bin/slirp4netns');
const tempDir = useTempDirs('tsbuild-rootless-container-');
const EPOCH = '1700000000';

/** The smallest set of options that works (docs/rootless.md, "In an unprivileged container"). */
const UNCONFINED = ['--security-opt', 'seccomp=unconfined', '--security-opt', 'systempaths=unconfined'];

const DOCKERFILE = [
  'FROM base',
  'COPY --chown=1000:1000 app.txt /app/app.txt',
  // The default network: slirp4netns inside the container's user namespace, on /dev/net/tun.
  'RUN cat /sys/class/net/eth0/mtu > /mtu',
  'RUN mkdir -p /data && echo x > /data/f && chown -R 1000:1000 /data && chmod 4755 /data/f && mkfifo /data/fifo',
  'USER 1000:1000',
  'RUN id -u > /data/who',
  '',
].join('\n');

describe.skipIf(!enabled)('tsbuild in an unprivileged Docker container', () => {
  let env: NodeJS.ProcessEnv = {};
  let image: RootlessImage | undefined;
  /** A 0666 tap device node bound over the container's when the host's is 0600 (see rootless-user.ts). */
  let tunNode: string | undefined;
  let tunDir: string | undefined;
  const names: string[] = [];

  beforeAll(async () => {
    env = { ...process.env, DOCKER_HOST: await modernDockerHost() };
    image = makeRootlessImage(env);
    if (!tunOpenToAll) {
      tunDir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-rootless-container-tun-'));
      tunNode = path.join(tunDir, 'tun');
      expect(spawnSync('mknod', ['-m', '666', tunNode, 'c', '10', '200']).status).toBe(0);
    }
  }, 600_000);
  afterAll(() => {
    for (const name of names) spawnSync('docker', ['rm', '-f', name], { env, stdio: 'ignore' });
    image?.remove();
    if (tunDir) rmSync(tunDir, { recursive: true, force: true });
  });

  /** `docker run` as the unprivileged user, `options` before the image, tsbuild's `args` after; `context` is /ctx. */
  function runInContainer(
    options: string[],
    args: string[],
    context: string,
    home: string,
    timeout = 300_000,
  ): { status: number | null; stdout: string; stderr: string; ms: number } {
    const name = `tsbuild-rootless-test-${process.pid}-${names.length}`;
    names.push(name);
    const started = Date.now();
    const result = spawnSync(
      'docker',
      [
        'run',
        '--rm',
        '--name',
        name,
        '--network',
        'none',
        '--user',
        `${CONTAINER_USER.uid}:${CONTAINER_USER.uid}`,
        ...options,
        ...(image?.mounts ?? []),
        '-v',
        `${context}:/ctx:ro`,
        '-v',
        `${home}:${CONTAINER_USER.home}`,
        '-w',
        CONTAINER_USER.home,
        '-e',
        `HOME=${CONTAINER_USER.home}`,
        '-e',
        `SOURCE_DATE_EPOCH=${EPOCH}`,
        image?.tag ?? '',
        'node',
        '/opt/tsbuild/bin/tsbuild.js',
        ...args,
      ],
      { env, encoding: 'utf8', timeout, killSignal: 'SIGKILL' },
    );
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started };
  }

  /** A home for the container's user (its state root goes there: ext4, where overlay works). */
  function home(): string {
    const dir = tempDir();
    chownSync(dir, CONTAINER_USER.uid, CONTAINER_USER.uid);
    return dir;
  }

  it('builds RUN, COPY --chown and USER rootless, with root’s image id and file tree', async () => {
    // The user in the container reads it as "others" (a temp dir is 0700).
    const context = tempDir();
    chmodSync(context, 0o755);
    writeFileSync(path.join(context, 'Dockerfile'), DOCKERFILE);
    writeFileSync(path.join(context, 'app.txt'), 'app\n');
    await writeBusyboxLayout(path.join(context, 'base'), '1', ['linux/amd64']);
    spawnSync('touch', ['-d', '@1600000000', path.join(context, 'app.txt'), path.join(context, 'Dockerfile')]);

    const rootOut = path.join(tempDir(), 'root.tar');
    const asRoot = tsbuild(
      ['--root', tempDir(), 'build', '-q', '--build-context', `base=oci-layout://${context}/base:1`, '-o', `type=oci,dest=${rootOut}`, context],
      { env: { SOURCE_DATE_EPOCH: EPOCH, TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json' }, timeout: 180_000 },
    );
    expect([asRoot.status, asRoot.stderr]).toEqual([0, '']);

    const userHome = home();
    const tun = ['--device', '/dev/net/tun', ...(tunNode ? ['-v', `${tunNode}:/dev/net/tun`] : [])];
    const inside = runInContainer(
      [...UNCONFINED, ...tun, '-e', `PATH=${CAPABILITY_HELPERS}:/usr/bin:/usr/sbin`],
      ['build', '-q', '--build-context', 'base=oci-layout:///ctx/base:1', '-o', `type=oci,dest=${CONTAINER_USER.home}/out.tar`, '/ctx'],
      context,
      userHome,
    );
    expect(inside.stderr).toBe('');
    expect([inside.status, inside.stdout]).toEqual([0, asRoot.stdout]);

    const [rootImage, userImage] = await Promise.all([
      describeImageArchive(rootOut, 1650000000),
      describeImageArchive(path.join(userHome, 'out.tar'), 1650000000),
    ]);
    expect(userImage).toEqual(rootImage);
    const line = (p: string): string | undefined => userImage.tree.find((l) => l.startsWith(`${p} `));
    expect(['app/app.txt', 'data/f', 'data/fifo', 'data/who', 'mtu'].map(line)).toEqual([
      'app/app.txt file 0644 1000:1000 4 8a8f60ecb09b7e64 2020-09-13T12:26:40Z',
      'data/f file 4755 1000:1000 2 73cb3858a687a849 build-time',
      'data/fifo fifo 0644 0:0 build-time',
      'data/who file 0644 1000:1000 5 83c02ac2d48c863d build-time',
      'mtu file 0644 0:0 6 6392efc71db09dee build-time',
    ]);
    // Overlay in the container's user namespace, not the copying fallback.
    expect(readFileSync(path.join(userHome, '.local/share/tsbuild/snapshotter'), 'utf8')).toBe('overlay-userxattr\n');
  }, 600_000);

  it.each([
    [
      "Docker's default seccomp profile",
      ['-e', `PATH=${CAPABILITY_HELPERS}:/usr/bin:/usr/sbin`],
      'error: cannot enter a user namespace: unshare: unshare failed: Operation not permitted\n' +
        'a seccomp filter (a container’s default profile) refuses unshare(2): start the container with --security-opt seccomp=unconfined (docs/rootless.md)\n',
    ],
    [
      "Debian's setuid newuidmap",
      [...UNCONFINED, '-e', 'PATH=/usr/bin:/usr/sbin'],
      'error: cannot enter a user namespace: newuidmap: write to uid_map failed: Operation not permitted\n' +
        'a setuid newuidmap/newgidmap cannot map ids without CAP_SYS_ADMIN, which this container does not have: give them file capabilities instead (chmod u-s; setcap cap_setuid+ep newuidmap, cap_setgid+ep newgidmap; docs/rootless.md)\n',
    ],
  ])(
    'with %s: one line and the way out, at once',
    (_what, options, expected) => {
      // A hang (what unshare's helper once caused) fails here instead of blocking the suite.
      const result = runInContainer(options, ['build', '-q', '/ctx'], tempDir(), home(), 60_000);
      expect([result.status, result.stdout, result.stderr]).toEqual([1, '', expected]);
      // Container start-up included; the namespace handshake's own limit is 10 s.
      expect(result.ms).toBeLessThan(10_000);
    },
    120_000,
  );
});
