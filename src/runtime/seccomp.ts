/**
 * The seccomp filter of a RUN: Docker's default profile (the table in `seccomp-table.ts`) for the
 * step's capabilities and architectures, as the OCI `linux.seccomp` object runc loads. Pure.
 *
 * Like Docker, anything not allowed fails with EPERM, and the groups that depend on the
 * architecture are chosen by the machine's architecture: it is the one whose system calls the
 * kernel sees, even when the step's binaries are another architecture's run by an emulator
 * (qemu-user is a host program). The filter also names the target's architectures, so that a
 * target's own system calls (a 386 binary on amd64, arm on arm64) meet the same rules.
 */
import { SYSCALL_TABLE, type SeccompArg, type SyscallGroup } from './seccomp-table.js';

/** One rule of the OCI seccomp object. */
export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: SeccompArg[];
}

/** The OCI `linux.seccomp` object. */
export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SeccompRule[];
}

export interface SeccompOptions {
  /** The process's bounding capability set. */
  capabilities: readonly string[];
  /** The step's target architecture (OCI/Go name: amd64, arm64, 386, arm, …). */
  architecture: string;
  /** The machine's architecture; defaults to the target's. */
  hostArchitecture?: string;
}

const EPERM = 1;

/**
 * The architectures a filter names for a platform architecture: the 64-bit ABI and the compat
 * ABIs its kernel runs beside it (Docker's `archMap`). A 32-bit architecture gets its 64-bit
 * family, whose kernels run its binaries natively.
 */
const ABI_FAMILIES: Record<string, readonly string[]> = {
  amd64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  '386': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  arm: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  mips64: ['SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'],
  mips64p32: ['SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'],
  mips: ['SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'],
  mips64le: ['SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'],
  mips64p32le: ['SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'],
  mipsle: ['SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'],
  s390x: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'],
  s390: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'],
  ppc64le: ['SCMP_ARCH_PPC64LE'],
  ppc64: ['SCMP_ARCH_PPC64'],
  riscv64: ['SCMP_ARCH_RISCV64'],
  loong64: ['SCMP_ARCH_LOONGARCH64'],
};

/** The seccomp object for one process. */
export function seccompProfile(options: SeccompOptions): SeccompProfile {
  const host = options.hostArchitecture ?? options.architecture;
  const has = (cap: string): boolean => options.capabilities.includes(cap);
  const applies = (group: SyscallGroup): boolean =>
    (group.requires ?? []).every(has) &&
    !(group.unlessCapability ?? []).some(has) &&
    (group.onlyOn === undefined || group.onlyOn.includes(host)) &&
    !(group.notOn ?? []).includes(host);
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: [...new Set([...(ABI_FAMILIES[host] ?? []), ...(ABI_FAMILIES[options.architecture] ?? [])])],
    syscalls: SYSCALL_TABLE.filter(applies).map(toRule),
  };
}

function toRule(group: SyscallGroup): SeccompRule {
  return {
    names: [...group.names],
    ...(group.errno === undefined ? { action: 'SCMP_ACT_ALLOW' as const } : { action: 'SCMP_ACT_ERRNO' as const, errnoRet: group.errno }),
    ...(group.args ? { args: group.args.map((a) => ({ ...a })) } : {}),
  };
}
