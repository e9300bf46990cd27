/**
 * What a rootless build needs, each missing piece one line naming what to change: the pure checks
 * over a machine described by a table, and the real thing for what a test can take away without
 * changing the machine (a user without subordinate ids, newuidmap off PATH, a tap device the user
 * cannot open).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findIdRange } from '../../src/rootless/id-ranges.js';
import { checkRootlessPrerequisites, namespaceFailure, type Machine } from '../../src/rootless/preflight.js';
import { isInitialMap } from '../../src/util/user-namespace.js';
import { pathWithout } from '../helpers/path-without.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { rootlessAvailable, tunOpenToAll, useRootlessUser } from '../helpers/rootless-user.js';

function machine(files: Record<string, string>, missing: string[] = []): Machine {
  return { read: (file) => files[file], onPath: (program) => !missing.includes(program) };
}

describe('the checks before entering a user namespace', () => {
  it.each([
    [{}, [], undefined],
    [{ '/proc/sys/kernel/unprivileged_userns_clone': '1\n', '/proc/sys/user/max_user_namespaces': '96365\n' }, [], undefined],
    [
      { '/proc/sys/kernel/unprivileged_userns_clone': '0\n' },
      [],
      'user namespaces are disabled for unprivileged users (kernel.unprivileged_userns_clone = 0): rootless builds need them\n' +
        'as root: sysctl -w kernel.unprivileged_userns_clone=1 (and the same line in /etc/sysctl.d/ to keep it), or run tsbuild as root',
    ],
    [
      { '/proc/sys/user/max_user_namespaces': '0\n' },
      [],
      'user namespaces are disabled for unprivileged users (user.max_user_namespaces = 0): rootless builds need them\n' +
        'as root: sysctl -w user.max_user_namespaces=28633 (and the same line in /etc/sysctl.d/ to keep it), or run tsbuild as root',
    ],
    [
      {},
      ['newuidmap'],
      "newuidmap is not installed (not found on PATH): rootless builds need it to map the user's ids\ninstall it: apt-get install uidmap",
    ],
    [
      {},
      ['newgidmap'],
      "newgidmap is not installed (not found on PATH): rootless builds need it to map the user's ids\ninstall it: apt-get install uidmap",
    ],
    [
      {},
      ['unshare'],
      'unshare is not installed (not found on PATH): rootless builds make their user namespace with it\ninstall it: apt-get install util-linux',
    ],
    [
      {},
      ['setpriv'],
      'setpriv is not installed (not found on PATH): rootless builds need it to stop the inner command with tsbuild\ninstall it: apt-get install util-linux',
    ],
  ])('%j without %j: %s', (files, missing, expected) => {
    let message: string | undefined;
    let code: string | undefined;
    try {
      checkRootlessPrerequisites(machine(files, missing));
    } catch (err) {
      message = (err as { describe(): string }).describe();
      code = (err as { code: string }).code;
    }
    // What the machine lacks is a precondition the user fixes, never a transient fault.
    expect([code, message]).toEqual(expected === undefined ? [undefined, undefined] : ['failed-precondition', expected]);
  });

  it.each([
    ['unshare: unshare failed: Operation not permitted\n', {}, 'see docs/rootless.md for what a rootless build needs'],
    [
      'unshare: unshare failed: Operation not permitted\n',
      { '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1\n' },
      'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): allow them for node, or run as root',
    ],
    [
      'unshare: unshare failed: Operation not permitted\n',
      { '/proc/self/status': 'Name:\tnode\nSeccomp:\t2\nSeccomp_filters:\t1\n' },
      'a seccomp filter (a container’s default profile) refuses unshare(2): start the container with --security-opt seccomp=unconfined (docs/rootless.md)',
    ],
    [
      'unshare: unshare failed: Operation not permitted\n',
      { '/proc/self/status': 'Name:\tnode\nSeccomp:\t0\n' },
      'see docs/rootless.md for what a rootless build needs',
    ],
    [
      'unshare did not create the namespace within 10 s',
      { '/proc/self/status': 'Seccomp:\t2\n' },
      'a seccomp filter (a container’s default profile) refuses unshare(2): start the container with --security-opt seccomp=unconfined (docs/rootless.md)',
    ],
    [
      'newuidmap: write to uid_map failed: Operation not permitted\n',
      {},
      'newuidmap/newgidmap refused the ranges: check /etc/subuid and /etc/subgid, and that both tools are setuid root (or have CAP_SETUID/CAP_SETGID)',
    ],
    // Docker's default bounding set (no CAP_SYS_ADMIN, bit 21) and the full one of a host.
    [
      'newuidmap: write to uid_map failed: Operation not permitted\n',
      { '/proc/self/status': 'CapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n' },
      'a setuid newuidmap/newgidmap cannot map ids without CAP_SYS_ADMIN, which this container does not have: give them file capabilities instead (chmod u-s; setcap cap_setuid+ep newuidmap, cap_setgid+ep newgidmap; docs/rootless.md)',
    ],
    [
      'newgidmap: write to gid_map failed: Operation not permitted\n',
      { '/proc/self/status': 'CapBnd:\t00000000a80425fb\n' },
      'a setuid newuidmap/newgidmap cannot map ids without CAP_SYS_ADMIN, which this container does not have: give them file capabilities instead (chmod u-s; setcap cap_setuid+ep newuidmap, cap_setgid+ep newgidmap; docs/rootless.md)',
    ],
    [
      'newuidmap: write to uid_map failed: Operation not permitted\n',
      // Docker's with --cap-add SYS_ADMIN: the setuid helper is not the cause.
      { '/proc/self/status': 'CapBnd:\t00000000a82425fb\n' },
      'newuidmap/newgidmap refused the ranges: check /etc/subuid and /etc/subgid, and that both tools are setuid root (or have CAP_SETUID/CAP_SETGID)',
    ],
  ])('%j with %j', (stderr, files, hint) => {
    const err = namespaceFailure(stderr, machine(files));
    expect([err.code, err.message, err.hint]).toEqual([
      'failed-precondition',
      `cannot enter a user namespace: ${stderr.trim().split('\n').at(-1)}`,
      hint,
    ]);
  });
});

describe('subordinate id ranges', () => {
  const owner = { name: 'ann', id: 1001 };
  it.each([
    ['ann:100000:65536\n', { start: 100000, count: 65536 }],
    ['bob:100000:65536\nann:165536:65536\nann:300000:10\n', { start: 165536, count: 65536 }],
    ['1001:200000:1000\n', { start: 200000, count: 1000 }],
    ['# comment\nann:x:65536\nann:0:5\nann:400000:65536\n', { start: 400000, count: 65536 }],
  ])('%j', (text, range) => {
    expect(findIdRange(text, '/etc/subuid', owner, 'uid')).toEqual(range);
  });

  it.each([
    [undefined, 'uid', '/etc/subuid'],
    ['annie:100000:65536\nann:100000:0\n', 'uid', '/etc/subuid'],
    ['bob:1:2\n', 'gid', '/etc/subgid'],
  ] as const)('none in %j (%s)', (text, kind, file) => {
    expect(() => findIdRange(text, file, owner, kind)).toThrow(
      expect.objectContaining({
        code: 'failed-precondition',
        message: `no subordinate ${kind} range for user ann in ${file}: rootless builds map the image's ${kind}s onto one`,
      }),
    );
  });

  it.each([
    ['         0          0 4294967295\n', true],
    ['         0       1001          1\n         1     100000      65536\n', false],
    ['         0          0          1\n', false],
  ])('uid_map %j is the initial namespace: %s', (text, initial) => {
    expect(isInitialMap(text)).toBe(initial);
  });
});

const noSubids = useRootlessUser(rootlessAvailable, { subids: false });
const withSubids = useRootlessUser(rootlessAvailable && registryAvailable);
const busybox = useBusyboxRegistry(rootlessAvailable && registryAvailable);

describe.skipIf(!rootlessAvailable)('what a real user is told', () => {
  it('no subordinate uid range: the file and the line to add', () => {
    const u = noSubids();
    const result = u.run(['build', '-q', '.']);
    expect([result.status, result.stdout, result.stderr]).toEqual([
      1,
      '',
      `error: no subordinate uid range for user ${u.name} in /etc/subuid: rootless builds map the image's uids onto one\n` +
        `add a line such as "${u.name}:100000:65536" to /etc/subuid (a range no other line uses; usermod --add-subuids 100000-165535 ${u.name})\n`,
    ]);
  });

  it('newuidmap missing from PATH', () => {
    const u = noSubids();
    const result = u.run(['prune'], { env: { PATH: pathWithout(path.join(u.home, 'bin'), 'newuidmap') } });
    expect([result.status, result.stderr]).toEqual([
      1,
      "error: newuidmap is not installed (not found on PATH): rootless builds need it to map the user's ids\ninstall it: apt-get install uidmap\n",
    ]);
  });

  it('a Dockerfile the user may not read: one line, not an internal error (--print-plan needs no namespace)', () => {
    const u = noSubids();
    const context = path.join(u.home, 'unreadable');
    mkdirSync(context);
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\n', { mode: 0o600 });
    const result = u.run(['build', '--print-plan', 'unreadable']);
    expect([result.status, result.stdout, result.stderr]).toEqual([
      1,
      '',
      'error: failed to read dockerfile: open unreadable/Dockerfile: permission denied\n',
    ]);
  });

  it('commands that touch no snapshot run without a namespace (no subordinate ids needed)', () => {
    const u = noSubids();
    const result = u.run(['images']);
    expect([result.status, result.stdout, result.stderr]).toEqual([0, 'REPOSITORY   TAG   IMAGE ID   CREATED   SIZE   COMPRESSED   PLATFORM\n', '']);
  });

  it.skipIf(tunOpenToAll || !registryAvailable)('RUN on the default network with a tap device the user cannot open', () => {
    const u = withSubids();
    const context = path.join(u.home, 'net');
    mkdirSync(context);
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN true\n`);
    const result = u.run(['build', '-q', 'net'], { timeout: 120_000 });
    // The failed step's block (as buildx prints it), then the cause and what to do.
    expect([result.status, result.stderr.slice(result.stderr.indexOf('ERROR:'))]).toEqual([
      1,
      'ERROR: failed to build: failed to solve: slirp4netns cannot open the tap device: open("/dev/net/tun"): Permission denied\n' +
        'RUN --network=default needs /dev/net/tun readable and writable by the user building (crw-rw-rw-); or use --network=none\n',
    ]);
    expect(result.stderr.split('\n').slice(0, 2)).toEqual(['------', ' > [2/2] RUN true:']);
  });
});
