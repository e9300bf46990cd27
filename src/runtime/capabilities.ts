/**
 * Which capabilities tsbuild itself holds, and so may grant a `--security=insecure` RUN. A fixed
 * "every capability" list breaks where tsbuild runs with fewer (inside a container or a VM whose init
 * dropped some): runc then fails with "unable to apply caps". BuildKit grants the capabilities its
 * own process has; so does tsbuild.
 */
import { readFileSync } from 'node:fs';

/** Capability names by number (linux/capability.h). */
const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/**
 * The capabilities of one set in `/proc/<pid>/status` (`CapEff:\t000001ffffffffff`), in number
 * order; bits newer than this list are left out (runc would not know them either). Undefined when
 * the line is missing or malformed.
 */
export function capabilitiesInStatus(status: string, set: 'CapEff' | 'CapBnd' | 'CapPrm'): string[] | undefined {
  const hex = new RegExp(`^${set}:\\s*([0-9a-f]{1,16})$`, 'm').exec(status)?.[1];
  if (hex === undefined) return undefined;
  const mask = BigInt(`0x${hex}`);
  return CAPABILITY_NAMES.filter((_name, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

let held: string[] | undefined;

/** The effective capabilities of this process (read once); `fallback` where /proc cannot tell. */
export function heldCapabilities(fallback: readonly string[]): string[] {
  held ??= capabilitiesInStatus(readStatus(), 'CapEff') ?? [...fallback];
  return held;
}

function readStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}
