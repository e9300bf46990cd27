/**
 * Platforms (`linux/arm64`, `linux/arm/v7`) and the predefined platform build args BuildKit gives
 * every Dockerfile (`TARGETPLATFORM`, `BUILDARCH`, …). Pure: the host platform is an input.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Descriptor } from './oci-types.js';

/** An OCI platform. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };

/** Go's operating systems and architectures, which is what containerd (and so BuildKit) accepts. */
const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasip1',
  'windows',
  'zos',
]);
const KNOWN_ARCH = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'ppc64',
  'ppc64le',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
]);

/** Parses `os/arch[/variant]` (or a bare `arch`, taken as linux), normalising architecture aliases. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.some((p) => p === '' || !/^[a-z0-9_.-]+$/.test(p)) || parts.length > 3) {
    throw new InvalidArgumentError(`invalid platform "${text}": expected os/arch[/variant], e.g. linux/amd64`);
  }
  const [os, arch, variant] = parts.length === 1 ? ['linux', parts[0], undefined] : parts;
  const architecture = ARCH_ALIASES[arch ?? ''] ?? arch ?? '';
  if (parts.length === 1 && !KNOWN_ARCH.has(architecture))
    throw new InvalidArgumentError(`invalid platform "${text}": unknown operating system or architecture`, { hint: 'e.g. linux/amd64 or arm64' });
  if (!KNOWN_OS.has(os ?? ''))
    throw new InvalidArgumentError(`invalid platform "${text}": unknown operating system "${os}"`, { hint: 'e.g. linux/amd64' });
  if (!KNOWN_ARCH.has(architecture))
    throw new InvalidArgumentError(`invalid platform "${text}": unknown architecture "${arch}"`, { hint: 'e.g. linux/amd64' });
  let normalized = variant;
  if (architecture === 'arm64' && variant === 'v8') normalized = undefined;
  if (architecture === 'arm' && variant === undefined) normalized = 'v7';
  return { os: os ?? 'linux', architecture, ...(normalized === undefined ? {} : { variant: normalized }) };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

/** The platform of a Node.js process (`process.platform`, `process.arch`), as OCI names it. */
export function platformOf(nodePlatform: string, nodeArch: string): Platform {
  const arch: Record<string, Platform> = {
    x64: { os: 'linux', architecture: 'amd64' },
    arm64: { os: 'linux', architecture: 'arm64' },
    arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
    ia32: { os: 'linux', architecture: '386' },
    ppc64: { os: 'linux', architecture: 'ppc64le' },
    s390x: { os: 'linux', architecture: 's390x' },
    riscv64: { os: 'linux', architecture: 'riscv64' },
  };
  const p = arch[nodeArch] ?? { os: 'linux', architecture: nodeArch };
  return { ...p, os: nodePlatform === 'win32' ? 'windows' : nodePlatform };
}

/** The predefined args describing the build and target platforms. */
export function platformArgs(build: Platform, target: Platform): Record<string, string> {
  return {
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
  };
}

/** True when a manifest for `candidate` can run on `wanted` (variant only checked when wanted names one). */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  if (candidate.os !== wanted.os || normalizeArch(candidate.architecture) !== normalizeArch(wanted.architecture)) return false;
  if (wanted.variant === undefined) return true;
  return normalizeVariant(candidate) === normalizeVariant(wanted);
}

/**
 * The manifest of an index that best fits `wanted`: an exact variant match first, then any match.
 * Undefined when none fits.
 */
export function selectManifest(manifests: readonly Descriptor[], wanted: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => m.platform !== undefined && platformMatches(wanted, m.platform));
  const exact = candidates.find((m) => m.platform && normalizeVariant(m.platform) === normalizeVariant(wanted));
  return exact ?? candidates[0];
}

function normalizeArch(arch: string): string {
  return ARCH_ALIASES[arch] ?? arch;
}

function normalizeVariant(p: Platform): string {
  const arch = normalizeArch(p.architecture);
  if (arch === 'arm64' && (p.variant === undefined || p.variant === 'v8')) return '';
  if (arch === 'arm' && p.variant === undefined) return 'v7';
  return p.variant ?? '';
}
