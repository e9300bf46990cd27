/**
 * An unprivileged container that runs this checkout's tsbuild, on the reference Docker Engine:
 * the machine has no internet, so the image is made here with `docker import` from a root file
 * system of a few files (passwd, group, subuid/subgid for the user, its home, /tmp, /run, the
 * merged-/usr links) plus copies of the host's `newuidmap`/`newgidmap` that carry file
 * capabilities (`cap_setuid`, `cap_setgid`) instead of the setuid bit, as an image built for
 * rootless use ships them (docs/rootless.md says why). The host's /usr (node, runc, slirp4netns,
 * util-linux) and the project's bin/, dist/, package.json and node_modules are bind-mounted
 * read-only at run time. `remove()` removes the image.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from './shared.js';

/** The user inside: an id no `useradd` of this machine hands out (UID_MAX is 60000). */
export const CONTAINER_USER = { name: 'ann', uid: 61000, home: '/home/ann' } as const;
/** Its subordinate ids: far above the ranges `useradd` gives the rootless tests' users. */
export const CONTAINER_SUBIDS = { start: 2_000_000, count: 65536 } as const;
/** Where the copies with file capabilities are, first on the container's PATH. */
export const CAPABILITY_HELPERS = '/opt/uidmap';

/** security.capability, VFS revision 2 with the effective bit: one permitted capability (bit < 32). */
function fileCapability(bit: number): string {
  const value = Buffer.alloc(20);
  value.writeUInt32LE(0x02000001, 0);
  value.writeUInt32LE(1 << bit, 4);
  return `0x${value.toString('hex')}`;
}

export interface RootlessImage {
  tag: string;
  /** `docker run` arguments that mount what the container runs (host /usr, the project). */
  mounts: string[];
  remove(): void;
}

/** Makes the image with `docker` (`env` holds DOCKER_HOST). */
export function makeRootlessImage(env: NodeJS.ProcessEnv): RootlessImage {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-rootless-image-'));
  const tag = `tsbuild-rootless-test:${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    const root = path.join(dir, 'rootfs');
    for (const d of ['etc', 'usr', 'proc', 'sys', 'dev', 'run', 'tmp', 'opt/tsbuild', CAPABILITY_HELPERS.slice(1), CONTAINER_USER.home.slice(1)]) {
      mkdirSync(path.join(root, d), { recursive: true });
    }
    chmodSync(path.join(root, 'tmp'), 0o1777);
    for (const link of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${link}`, path.join(root, link));
    const { name, uid, home } = CONTAINER_USER;
    writeFileSync(path.join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${name}:x:${uid}:${uid}::${home}:/bin/sh\n`);
    writeFileSync(path.join(root, 'etc/group'), `root:x:0:\n${name}:x:${uid}:\n`);
    for (const file of ['etc/subuid', 'etc/subgid'])
      writeFileSync(path.join(root, file), `${name}:${CONTAINER_SUBIDS.start}:${CONTAINER_SUBIDS.count}\n`);
    chownSync(path.join(root, home.slice(1)), uid, uid);
    // CAP_SETUID is 7, CAP_SETGID 6.
    for (const [tool, bit] of [
      ['newuidmap', 7],
      ['newgidmap', 6],
    ] as const) {
      const copy = path.join(root, CAPABILITY_HELPERS.slice(1), tool);
      copyFileSync(`/usr/bin/${tool}`, copy);
      chmodSync(copy, 0o755);
      execFileSync('setfattr', ['-n', 'security.capability', '-v', fileCapability(bit), copy]);
    }
    const tar = spawnSync('tar', ['--xattrs', '--xattrs-include=security.capability', '-C', root, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
    execFileSync('docker', ['import', '-', tag], { env, input: tar.stdout, stdio: ['pipe', 'ignore', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mounts = [
    ['/usr', '/usr'],
    ...['bin', 'dist', 'package.json'].map((p) => [path.join(projectRoot, p), `/opt/tsbuild/${p}`]),
    [realpathSync(path.join(projectRoot, 'node_modules')), '/opt/tsbuild/node_modules'],
  ].flatMap(([from, to]) => ['-v', `${from}:${to}:ro`]);
  return {
    tag,
    mounts,
    remove: () => void spawnSync('docker', ['rmi', '-f', tag], { env, stdio: 'ignore' }),
  };
}
