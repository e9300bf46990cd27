/**
 * The OCI runtime spec (`config.json`) for one RUN, as a pure function: Docker's default
 * capabilities, masked and read-only paths, namespaces, rlimits, no new privileges, and the standard
 * mounts (/proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, plus /etc/hosts and /etc/resolv.conf
 * from files the runner writes; like BuildKit, no /etc/hostname), and Docker's default seccomp
 * filter (seccomp.ts).
 * The exception to purity: `--security=insecure` grants the capabilities tsbuild holds, read once
 * from /proc (capabilities.ts).
 */
import { platformOf, type Platform } from '../image/platform.js';
import { heldCapabilities } from './capabilities.js';
import { seccompProfile } from './seccomp.js';

/** Who runs the process. */
export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/** The process of a RUN. */
export interface ProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
}

/** An extra mount inside the container (RUN --mount, generated /etc files). */
export interface ContainerMount {
  destination: string;
  type: 'bind' | 'tmpfs' | 'overlay';
  source: string;
  options: string[];
}

/** A resource limit (`--ulimit nofile=1024:2048`): its `RLIMIT_*` name and values. */
export interface Ulimit {
  type: string;
  soft: number;
  hard: number;
}

/**
 * The network namespace a process runs in: the host's (no namespace entry), a new one runc makes
 * for the container (it brings up `lo` in it, as for BuildKit's `none`), or the one a file holds.
 */
export type NetworkNamespace = 'host' | 'new' | { path: string };

export interface RuntimeSpecOptions {
  rootfs: string;
  hostname: string;
  networkNamespace: NetworkNamespace;
  security: 'sandbox' | 'insecure';
  mounts: ContainerMount[];
  /** The size of /dev/shm in bytes (`--shm-size`); Docker's 64 MiB by default. */
  shmSize?: number;
  /** Resource limits (`--ulimit`) besides RLIMIT_NOFILE's default. */
  ulimits?: readonly Ulimit[];
  /** RLIMIT_NOFILE for the process; Docker's 1048576 unless the host allows less. */
  maxOpenFiles?: number;
  /** The step's target platform, whose system call ABIs the seccomp filter names; default: the host's. */
  platform?: Platform;
}

/** Docker's default capability set (bounding set 0x00000000a80425fb). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability: `--security=insecure` where /proc cannot tell which tsbuild holds. */
const ALL_CAPABILITIES = [
  ...DEFAULT_CAPABILITIES,
  'CAP_DAC_READ_SEARCH',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_LEASE',
  'CAP_AUDIT_CONTROL',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
];

/** Paths Docker hides from containers. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Paths Docker makes read-only. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The machine's platform, whose system calls the kernel sees (also under an emulator). */
const HOST_PLATFORM = platformOf(process.platform, process.arch);

/** The config.json object. */
export function toRuntimeSpec(process: ProcessSpec, options: RuntimeSpecOptions): Record<string, unknown> {
  const insecure = options.security === 'insecure';
  const caps = insecure ? heldCapabilities(ALL_CAPABILITIES) : DEFAULT_CAPABILITIES;
  const architecture = (options.platform ?? HOST_PLATFORM).architecture;
  const seccomp = insecure ? undefined : seccompProfile({ capabilities: caps, architecture, hostArchitecture: HOST_PLATFORM.architecture });
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, ...networkEntry(options.networkNamespace)];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: process.user.uid, gid: process.user.gid, additionalGids: process.user.additionalGids },
      args: process.args,
      env: process.env,
      cwd: process.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: rlimits(options),
      noNewPrivileges: !insecure,
    },
    root: { path: options.rootfs, readonly: false },
    hostname: options.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${Math.ceil((options.shmSize ?? 64 * 1024 * 1024) / 1024)}k`],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ...options.mounts.map((m) => ({ destination: m.destination, type: m.type, source: m.source, options: m.options })),
    ],
    linux: {
      namespaces,
      maskedPaths: insecure ? [] : MASKED_PATHS,
      readonlyPaths: insecure ? [] : READONLY_PATHS,
      resources: { devices: [{ allow: insecure, access: 'rwm' }] },
      ...(seccomp ? { seccomp } : {}),
    },
  };
}

/** RLIMIT_NOFILE as Docker sets it (within the host's hard limit), then the `--ulimit`s, which win. */
function rlimits(options: RuntimeSpecOptions): Ulimit[] {
  const nofile = options.maxOpenFiles ?? 1048576;
  const limits = new Map<string, Ulimit>([['RLIMIT_NOFILE', { type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }]]);
  for (const limit of options.ulimits ?? []) limits.set(limit.type, limit);
  return [...limits.values()];
}

/** `linux.namespaces`' network entry: none for the host's, one without a path for a new one. */
function networkEntry(namespace: NetworkNamespace): Array<{ type: 'network'; path?: string }> {
  if (namespace === 'host') return [];
  return namespace === 'new' ? [{ type: 'network' }] : [{ type: 'network', path: namespace.path }];
}
