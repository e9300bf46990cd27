/**
 * Whether this machine can run a platform's programs: natively (its own architecture, or one its
 * CPU also runs, as amd64 runs 386), or through a binfmt_misc handler that hands the foreign
 * binaries to QEMU user emulation. Debian's `qemu-user-static` registers `qemu-<arch>` handlers
 * with the fix-binary flag (`F`): the kernel opens the interpreter when the handler is registered,
 * so it works inside a container whose root has no QEMU. A build checks every foreign platform
 * its RUN steps need before running any step, so a missing emulator is one line, not a failed
 * step half-way through.
 */
import { UnsupportedError } from '../errors.js';
import { formatPlatform, type Platform } from '../image/platform.js';
import { readTextIfExists } from '../util/absent.js';

/** Where the kernel lists binfmt_misc handlers. */
export const BINFMT_MISC = '/proc/sys/fs/binfmt_misc';

/** QEMU's names for OCI architectures (`qemu-<name>` handlers), where they differ or need a variant. */
const QEMU_NAMES: Record<string, string> = {
  arm64: 'aarch64',
  arm: 'arm',
  '386': 'i386',
  amd64: 'x86_64',
  ppc64le: 'ppc64le',
  ppc64: 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64el',
  mips64: 'mips64',
  mipsle: 'mipsel',
  mips: 'mips',
  loong64: 'loongarch64',
};

/** Architectures a CPU of the key's architecture also runs without emulation. */
const NATIVE_ALSO: Record<string, readonly string[]> = { amd64: ['386'], arm64: ['arm'] };

/** True when `host` runs `target`'s programs without an emulator. */
export function runsNatively(host: Platform, target: Platform): boolean {
  if (host.os !== target.os) return false;
  return host.architecture === target.architecture || (NATIVE_ALSO[host.architecture] ?? []).includes(target.architecture);
}

/** The binfmt_misc handler name QEMU registers for `target` (`qemu-aarch64`). */
export function qemuHandler(target: Platform): string {
  return `qemu-${QEMU_NAMES[target.architecture] ?? target.architecture}`;
}

/**
 * Throws, naming the platform and the fix, unless `host` can run every platform of `targets`.
 * `binfmtDir` is where handlers are listed (tests point it elsewhere).
 */
export async function checkEmulation(host: Platform, targets: readonly Platform[], binfmtDir = BINFMT_MISC): Promise<void> {
  for (const target of targets) {
    if (runsNatively(host, target)) continue;
    const handler = qemuHandler(target);
    const state = await readTextIfExists(`${binfmtDir}/${handler}`);
    if (state?.split('\n')[0]?.trim() === 'enabled') continue;
    const why = state === undefined ? `no binfmt_misc handler ${handler}` : `the binfmt_misc handler ${handler} is disabled`;
    throw new UnsupportedError(`cannot run ${formatPlatform(target)} steps on this ${formatPlatform(host)} machine: ${why}`, {
      hint: `install QEMU user emulation (apt-get install qemu-user-static) and make sure binfmt_misc is mounted on ${binfmtDir}`,
    });
  }
}
