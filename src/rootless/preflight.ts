/**
 * What a rootless build needs from the machine, checked before tsbuild tries to enter a user
 * namespace, so that each missing piece is one line saying what to change: the kernel's switches
 * for unprivileged user namespaces and the tools that make one (`newuidmap`/`newgidmap`, setuid
 * helpers from Debian's `uidmap`; `unshare` and `setpriv` from util-linux). Pure over a reader of
 * files and a lookup on PATH, so each answer is tested without changing the machine.
 */
import { FailedPreconditionError } from '../errors.js';
import { missingTool } from '../util/tool-runner.js';

/** How the checks see the machine. */
export interface Machine {
  /** The content of a file, or undefined when it does not exist. */
  read(file: string): string | undefined;
  /** True when `program` is an executable file on PATH. */
  onPath(program: string): boolean;
}

/** Kernel settings that turn unprivileged user namespaces off, with the value that does. */
const KERNEL_SWITCHES: Array<{ file: string; sysctl: string; off: (value: string) => boolean; enable: string }> = [
  // Debian's and Ubuntu's older kernels: a switch of their own.
  {
    file: '/proc/sys/kernel/unprivileged_userns_clone',
    sysctl: 'kernel.unprivileged_userns_clone',
    off: (v) => v === '0',
    enable: 'sysctl -w kernel.unprivileged_userns_clone=1',
  },
  // Every kernel: the number of namespaces each user may make; 0 allows none.
  {
    file: '/proc/sys/user/max_user_namespaces',
    sysctl: 'user.max_user_namespaces',
    off: (v) => v === '0',
    enable: 'sysctl -w user.max_user_namespaces=28633',
  },
];

/**
 * The tools a rootless build runs, and what for: the error when one is missing says it, whether
 * the check here or the run itself finds it gone (their packages: `util/tool-runner.ts`).
 */
export const ROOTLESS_TOOLS = {
  newuidmap: "rootless builds need it to map the user's ids",
  newgidmap: "rootless builds need it to map the user's ids",
  unshare: 'rootless builds make their user namespace with it',
  setpriv: 'rootless builds need it to stop the inner command with tsbuild',
} as const;

/** Throws the first reason a user namespace cannot be made here. */
export function checkRootlessPrerequisites(machine: Machine): void {
  for (const s of KERNEL_SWITCHES) {
    const value = machine.read(s.file)?.trim();
    if (value !== undefined && s.off(value)) {
      throw new FailedPreconditionError(`user namespaces are disabled for unprivileged users (${s.sysctl} = ${value}): rootless builds need them`, {
        hint: `as root: ${s.enable} (and the same line in /etc/sysctl.d/ to keep it), or run tsbuild as root`,
      });
    }
  }
  for (const [tool, purpose] of Object.entries(ROOTLESS_TOOLS)) if (!machine.onPath(tool)) throw missingTool(tool, { purpose });
}

/** CAP_SYS_ADMIN's bit in /proc/self/status's capability masks. */
const CAP_SYS_ADMIN = 21n;

/**
 * A one-line cause for what `unshare` or `newuidmap`/`newgidmap` printed when the namespace could
 * not be made, with the setting most likely behind it: AppArmor's restriction (Ubuntu 23.10 and
 * later); a seccomp filter refusing unshare(2) (a container's default profile); a setuid
 * `newuidmap` in a container. Debian's `newuidmap` is built without libcap: it keeps euid 0 when it
 * writes the map, and the kernel then wants CAP_SYS_ADMIN over the new namespace, which euid 0 has
 * only with CAP_SYS_ADMIN in the container's own; Docker's bounding set leaves it out, so the write
 * is refused. With file capabilities instead of the setuid bit, the helper keeps the user's euid
 * (the namespace's owner) and needs CAP_SETUID alone, as BuildKit's and buildah's images set it.
 */
export function namespaceFailure(stderr: string, machine: Pick<Machine, 'read'>): FailedPreconditionError {
  const text = stderr.trim().split('\n').filter(Boolean).at(-1) ?? 'no output';
  const status = machine.read('/proc/self/status') ?? '';
  let hint = 'see docs/rootless.md for what a rootless build needs';
  if (machine.read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim() === '1') {
    hint = 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): allow them for node, or run as root';
  } else if (/unshare failed|did not create the namespace/.test(text) && /^Seccomp:\s*2$/m.test(status)) {
    hint =
      'a seccomp filter (a container’s default profile) refuses unshare(2): start the container with --security-opt seccomp=unconfined (docs/rootless.md)';
  } else if (/write to [ug]id_map failed/.test(text) && !boundingSetHas(status, CAP_SYS_ADMIN)) {
    hint =
      'a setuid newuidmap/newgidmap cannot map ids without CAP_SYS_ADMIN, which this container does not have: give them file capabilities instead (chmod u-s; setcap cap_setuid+ep newuidmap, cap_setgid+ep newgidmap; docs/rootless.md)';
  } else if (/newuidmap|newgidmap/.test(text)) {
    hint =
      'newuidmap/newgidmap refused the ranges: check /etc/subuid and /etc/subgid, and that both tools are setuid root (or have CAP_SETUID/CAP_SETGID)';
  }
  return new FailedPreconditionError(`cannot enter a user namespace: ${text}`, { hint });
}

/** True when the `CapBnd:` mask of a /proc status text holds capability `bit` (or is not there). */
function boundingSetHas(status: string, bit: bigint): boolean {
  const mask = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return mask === undefined || ((BigInt(`0x${mask}`) >> bit) & 1n) === 1n;
}
