/**
 * The RUN seccomp filter: the profile as a pure function (architectures, capability-conditional
 * and argument rules, read through a small model of how the kernel applies a filter), the filter in
 * a real runc container (a static probe compiled with gcc makes the calls), and the same probe under
 * current BuildKit, which must see the same.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/verbs/build.js';
import { applyLayer } from '../../src/diff/applier.js';
import { parseOutput } from '../../src/export/output-spec.js';
import { DEFAULT_CAPABILITIES, toRuntimeSpec, type RuntimeSpecOptions } from '../../src/runtime/oci-spec.js';
import { RuncExecutor } from '../../src/runtime/runc.js';
import { seccompProfile, type SeccompProfile } from '../../src/runtime/seccomp.js';
import { SYSCALL_TABLE } from '../../src/runtime/seccomp-table.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { testRequest } from '../helpers/build.js';
import { modernBuildKitAvailable, modernDockerHost } from '../helpers/dockerd.js';
import { busyboxLayer } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
import { fixturePath } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-seccomp-');
const EPERM = 1;
const ENOSYS = 38;
const SIGCHLD = 17;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_THREADS = 0x00010000 | 0x00000100 | 0x00000200 | 0x00000400 | 0x00000800; // THREAD|VM|FS|FILES|SIGHAND

const X86 = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
const ARM = ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];

/**
 * What a call with these arguments gets from the filter: `allow` or the errno. A model of the
 * kernel's reading of the OCI object: a call that matches a rule (all its comparisons hold) gets the
 * rule's action, anything else the default.
 */
function verdict(profile: SeccompProfile, name: string, args: number[] = []): 'allow' | number {
  const holds = (a: { index: number; value: number; valueTwo?: number; op: string }): boolean => {
    const arg = BigInt(args[a.index] ?? 0);
    const value = BigInt(a.value);
    const ops: Record<string, boolean> = {
      SCMP_CMP_EQ: arg === value,
      SCMP_CMP_NE: arg !== value,
      SCMP_CMP_LT: arg < value,
      SCMP_CMP_LE: arg <= value,
      SCMP_CMP_GT: arg > value,
      SCMP_CMP_GE: arg >= value,
      SCMP_CMP_MASKED_EQ: (arg & value) === BigInt(a.valueTwo ?? 0),
    };
    return ops[a.op] ?? false;
  };
  const rule = profile.syscalls.find((r) => r.names.includes(name) && (r.args ?? []).every(holds));
  if (!rule) return profile.defaultErrnoRet;
  return rule.action === 'SCMP_ACT_ALLOW' ? 'allow' : (rule.errnoRet ?? EPERM);
}

const profileFor = (capabilities: readonly string[], architecture = 'amd64', hostArchitecture = architecture): SeccompProfile =>
  seccompProfile({ capabilities, architecture, hostArchitecture });
const without = (cap: string): string[] => DEFAULT_CAPABILITIES.filter((c) => c !== cap);
const withCaps = (...caps: string[]): string[] => [...DEFAULT_CAPABILITIES, ...caps];

describe('seccompProfile', () => {
  it('refuses with EPERM by default, as Docker', () => {
    const profile = profileFor(DEFAULT_CAPABILITIES);
    expect([profile.defaultAction, profile.defaultErrnoRet]).toEqual(['SCMP_ACT_ERRNO', EPERM]);
    expect([verdict(profile, 'getpid'), verdict(profile, 'keyctl'), verdict(profile, 'io_uring_setup'), verdict(profile, 'add_key')]).toEqual([
      'allow',
      EPERM,
      EPERM,
      EPERM,
    ]);
  });

  it.each([
    // target, machine, architectures
    ['amd64', 'amd64', X86],
    ['386', 'amd64', X86],
    ['arm64', 'arm64', ARM],
    ['arm', 'arm64', ARM],
    // Emulated (qemu-user is an amd64 program): the machine's ABIs, and the target's.
    ['arm64', 'amd64', [...X86, ...ARM]],
    ['amd64', 'arm64', [...ARM, ...X86]],
    ['s390x', 's390x', ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390']],
    ['mips64le', 'mips64le', ['SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32']],
    ['ppc64le', 'ppc64le', ['SCMP_ARCH_PPC64LE']],
    ['riscv64', 'riscv64', ['SCMP_ARCH_RISCV64']],
    ['loong64', 'loong64', ['SCMP_ARCH_LOONGARCH64']],
    ['wasm', 'wasm', []],
  ])('names the ABIs of a %s step on %s', (target, host, architectures) => {
    expect(profileFor(DEFAULT_CAPABILITIES, target, host).architectures).toEqual(architectures);
  });

  it.each([
    // machine, call, verdict
    ['amd64', 'arch_prctl', 'allow'],
    ['amd64', 'modify_ldt', 'allow'],
    ['amd64', 'set_tls', EPERM],
    ['386', 'modify_ldt', 'allow'],
    ['386', 'arch_prctl', EPERM],
    ['arm64', 'set_tls', 'allow'],
    ['arm64', 'cacheflush', 'allow'],
    ['arm64', 'arch_prctl', EPERM],
    ['arm', 'arm_fadvise64_64', 'allow'],
    ['ppc64le', 'swapcontext', 'allow'],
    ['ppc64le', 'sync_file_range2', 'allow'],
    ['s390x', 's390_runtime_instr', 'allow'],
    ['s390x', 'arch_prctl', EPERM],
    ['riscv64', 'riscv_flush_icache', 'allow'],
    ['riscv64', 'set_tls', EPERM],
  ] as const)('on %s, %s: %s', (host, call, expected) => {
    expect(verdict(profileFor(DEFAULT_CAPABILITIES, host), call)).toBe(expected);
  });

  it('chooses architecture-specific calls by the machine when the target is emulated', () => {
    // qemu-aarch64 on amd64 makes amd64 calls (arch_prctl to set up its own TLS), never arm's set_tls.
    const emulated = profileFor(DEFAULT_CAPABILITIES, 'arm64', 'amd64');
    expect([verdict(emulated, 'arch_prctl'), verdict(emulated, 'set_tls')]).toEqual(['allow', EPERM]);
  });

  it.each([
    // capabilities, call, arguments, verdict
    ['default', DEFAULT_CAPABILITIES, 'chroot', [], 'allow'],
    ['no CAP_SYS_CHROOT', without('CAP_SYS_CHROOT'), 'chroot', [], EPERM],
    ['default', DEFAULT_CAPABILITIES, 'mount', [], EPERM],
    ['+CAP_SYS_ADMIN', withCaps('CAP_SYS_ADMIN'), 'mount', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'unshare', [CLONE_NEWUSER], EPERM],
    ['+CAP_SYS_ADMIN', withCaps('CAP_SYS_ADMIN'), 'unshare', [CLONE_NEWUSER], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'setns', [], EPERM],
    ['default', DEFAULT_CAPABILITIES, 'clone', [SIGCHLD], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'clone', [CLONE_THREADS], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'clone', [CLONE_NEWUSER | SIGCHLD], EPERM],
    ['default', DEFAULT_CAPABILITIES, 'clone', [CLONE_NEWNET | CLONE_THREADS], EPERM],
    ['+CAP_SYS_ADMIN', withCaps('CAP_SYS_ADMIN'), 'clone', [CLONE_NEWUSER | SIGCHLD], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'clone3', [], ENOSYS],
    ['+CAP_SYS_ADMIN', withCaps('CAP_SYS_ADMIN'), 'clone3', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'ptrace', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'kcmp', [], EPERM],
    ['+CAP_SYS_PTRACE', withCaps('CAP_SYS_PTRACE'), 'kcmp', [], 'allow'],
    ['+CAP_SYS_PTRACE', withCaps('CAP_SYS_PTRACE'), 'pidfd_getfd', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'open_by_handle_at', [], EPERM],
    ['+CAP_DAC_READ_SEARCH', withCaps('CAP_DAC_READ_SEARCH'), 'open_by_handle_at', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'reboot', [], EPERM],
    ['+CAP_SYS_BOOT', withCaps('CAP_SYS_BOOT'), 'reboot', [], 'allow'],
    ['+CAP_SYS_MODULE', withCaps('CAP_SYS_MODULE'), 'finit_module', [], 'allow'],
    ['+CAP_SYS_PACCT', withCaps('CAP_SYS_PACCT'), 'acct', [], 'allow'],
    ['+CAP_SYS_RAWIO', withCaps('CAP_SYS_RAWIO'), 'iopl', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'settimeofday', [], EPERM],
    ['+CAP_SYS_TIME', withCaps('CAP_SYS_TIME'), 'clock_settime', [], 'allow'],
    ['+CAP_SYS_TTY_CONFIG', withCaps('CAP_SYS_TTY_CONFIG'), 'vhangup', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'mbind', [], EPERM],
    ['+CAP_SYS_NICE', withCaps('CAP_SYS_NICE'), 'mbind', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'syslog', [], EPERM],
    ['+CAP_SYSLOG', withCaps('CAP_SYSLOG'), 'syslog', [], 'allow'],
    ['+CAP_SYS_ADMIN', withCaps('CAP_SYS_ADMIN'), 'syslog', [], 'allow'],
    ['default', DEFAULT_CAPABILITIES, 'bpf', [], EPERM],
    ['+CAP_BPF', withCaps('CAP_BPF'), 'bpf', [], 'allow'],
    ['+CAP_PERFMON', withCaps('CAP_PERFMON'), 'perf_event_open', [], 'allow'],
    ['none', [], 'chroot', [], EPERM],
    ['none', [], 'clone', [SIGCHLD], 'allow'],
  ] as const)('with %s capabilities, %s(%j): %s', (_label, caps, call, args, expected) => {
    expect(verdict(profileFor(caps), call, [...args])).toBe(expected);
  });

  it('reads clone’s flags from the second argument on s390', () => {
    const s390 = profileFor(DEFAULT_CAPABILITIES, 's390x');
    // s390's clone(stack, flags, …).
    expect([verdict(s390, 'clone', [0, SIGCHLD]), verdict(s390, 'clone', [0, CLONE_NEWUSER | SIGCHLD])]).toEqual(['allow', EPERM]);
  });

  it.each([
    // personality(2): the execution domain, 32-bit, a 2.6 uname and the query; nothing that lowers protections
    ['personality', 0x0, 'allow'],
    ['personality', 0x0008, 'allow'],
    ['personality', 0x20000, 'allow'],
    ['personality', 0x20008, 'allow'],
    ['personality', 0xffffffff, 'allow'],
    ['personality', 0x0040000, EPERM], // ADDR_NO_RANDOMIZE
    ['personality', 0x0400000, EPERM], // READ_IMPLIES_EXEC
    ['personality', 0x0040008, EPERM],
    // socket(2): every family but AF_ALG (38) and AF_VSOCK (40)
    ['socket', 1, 'allow'],
    ['socket', 2, 'allow'],
    ['socket', 10, 'allow'],
    ['socket', 16, 'allow'],
    ['socket', 37, 'allow'],
    ['socket', 38, EPERM],
    ['socket', 39, 'allow'],
    ['socket', 40, EPERM],
    ['socket', 41, 'allow'],
    ['socket', 45, 'allow'],
  ] as const)('%s(%i): %s', (call, arg, expected) => {
    expect(verdict(profileFor(DEFAULT_CAPABILITIES), call, [arg])).toBe(expected);
  });

  it('lists each unconditionally allowed call once', () => {
    const plain = SYSCALL_TABLE.filter((g) => !g.args && !g.requires && !g.unlessCapability && !g.onlyOn && !g.notOn && g.errno === undefined);
    const names = plain.flatMap((g) => g.names);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    // Docker's unconditional list (361 names) plus ptrace and process_vm_readv/writev, which Docker
    // allows from Linux 4.8 on.
    expect(names.length).toBe(364);
  });
});

describe('toRuntimeSpec and seccomp', () => {
  const options: RuntimeSpecOptions = { rootfs: '/r', hostname: 'h', networkNamespace: 'host', security: 'sandbox', mounts: [] };
  const proc = { args: ['/bin/true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] } };
  const linux = (spec: Record<string, unknown>): Record<string, unknown> => spec.linux as Record<string, unknown>;

  it('gives a sandboxed RUN the filter for its capabilities and this machine', () => {
    const host = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[os.arch()] ?? os.arch();
    expect(linux(toRuntimeSpec(proc, options)).seccomp).toEqual(profileFor(DEFAULT_CAPABILITIES, host));
  });

  it.runIf(os.arch() === 'x64')('names the target platform’s ABIs beside the machine’s', () => {
    const spec = toRuntimeSpec(proc, { ...options, platform: { os: 'linux', architecture: 'arm64' } });
    expect((linux(spec).seccomp as SeccompProfile).architectures).toEqual([...X86, ...ARM]);
  });

  it('gives --security=insecure no filter', () => {
    expect(Object.keys(linux(toRuntimeSpec(proc, { ...options, security: 'insecure' })))).not.toContain('seccomp');
  });
});

/** Every probe of fixtures/seccomp/probe.c. */
/** The host's network: the probes make no connection that leaves the container. */
const HOST_NETWORK = { namespace: 'host', resolvConf: '' } as const;

const PROBES = [
  'getpid',
  'keyctl',
  'clone3',
  'clone',
  'clone-newuser',
  'unshare-newuser',
  'personality-query',
  'personality-linux32',
  'personality-norandom',
  'chroot',
  'kcmp',
  'socket-inet',
  'socket-alg',
  'socket-vsock',
];

/** What the probes see under the filter (Docker's profile). */
const SANDBOXED: Record<string, string> = {
  getpid: 'ok',
  keyctl: 'EPERM',
  clone3: 'ENOSYS',
  clone: 'ok',
  'clone-newuser': 'EPERM',
  'unshare-newuser': 'EPERM',
  'personality-query': 'ok',
  'personality-linux32': 'ok',
  'personality-norandom': 'EPERM',
  chroot: 'ok',
  kcmp: 'EPERM',
  'socket-inet': 'ok',
  'socket-alg': 'EPERM',
  'socket-vsock': 'EPERM',
};
/** What they see with no filter: the probes whose answer does not depend on the host's kernel modules. */
const UNFILTERED: Record<string, string> = {
  getpid: 'ok',
  keyctl: 'ok',
  clone3: 'EINVAL', // the kernel's answer to an empty clone_args
  clone: 'ok',
  'clone-newuser': 'ok',
  'unshare-newuser': 'ok',
  'personality-norandom': 'ok',
  kcmp: 'ok',
};
const lines = (results: Record<string, string>): string =>
  Object.entries(results)
    .map(([probe, result]) => `${probe}=${result}\n`)
    .join('');

const gccAvailable = (() => {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!gccAvailable) console.warn('seccomp.test.ts: no gcc, the container probes are skipped');

/** The probe, compiled once for the file. */
let probeDir = '';
beforeAll(() => {
  if (!gccAvailable || !isRoot) return;
  probeDir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-seccomp-probe-'));
  execFileSync('gcc', ['-static', '-O2', '-o', path.join(probeDir, 'probe'), fixturePath('seccomp', 'probe.c')]);
}, 60_000);
afterAll(() => {
  if (probeDir) rmSync(probeDir, { recursive: true, force: true });
});

describe.skipIf(!isRoot || !gccAvailable)('the filter in a real runc container', () => {
  async function runProbes(security: 'sandbox' | 'insecure', probes: readonly string[]): Promise<string> {
    const state = tempDir();
    const snaps = new OverlaySnapshotter(state);
    await snaps.prepare('x');
    await applyLayer(Readable.from([(await busyboxLayer()).gz]), await snaps.upperDir('x'), { mode: 'overlay' });
    await snaps.commit('base', 'x');
    const chunks: string[] = [];
    const status = await new RuncExecutor(state).run(
      {
        args: ['/bin/sh', '-c', `/bin/busybox grep -E '^(CapEff|Seccomp)' /proc/self/status; /probe ${probes.join(' ')}`],
        env: [],
        cwd: '/',
        user: { uid: 0, gid: 0, additionalGids: [0] },
      },
      {
        rootfs: await snaps.prepare('run', 'base'),
        hostname: 'h',
        network: HOST_NETWORK,
        security,
        mounts: [{ destination: '/probe', type: 'bind', source: path.join(probeDir, 'probe'), options: ['rbind', 'ro'] }],
        output: (c) => chunks.push(c.toString()),
      },
    );
    expect(status).toEqual({ exitCode: 0, tail: chunks.join('') });
    return chunks.join('');
  }

  it('filters a sandboxed RUN: Docker’s blocked calls fail, allowed ones work', async () => {
    // Docker's default capabilities, the filter, and the probes' answers.
    expect(await runProbes('sandbox', PROBES)).toBe(`CapEff:\t00000000a80425fb\nSeccomp:\t2\nSeccomp_filters:\t1\n${lines(SANDBOXED)}`);
  });

  it('gives --security=insecure no filter and the capabilities tsbuild holds: the same calls reach the kernel', async () => {
    const held = /^CapEff:.*$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[0];
    expect(await runProbes('insecure', Object.keys(UNFILTERED))).toBe(`${held}\nSeccomp:\t0\nSeccomp_filters:\t0\n${lines(UNFILTERED)}`);
  });
});

describe.skipIf(!modernBuildKitAvailable || !gccAvailable)('the filter compared with current BuildKit', () => {
  // Docker Engine 28 predates AF_ALG's refusal (moby/profiles 0.2, 2026); it answers EAFNOSUPPORT or
  // ok there, depending on the kernel. Every other probe must agree.
  const compared = PROBES.filter((p) => p !== 'socket-alg');
  const dockerfile = [
    'FROM scratch AS probe',
    'COPY busybox /bin/busybox',
    'COPY probe /probe',
    `RUN ["/bin/busybox", "sh", "-c", "/bin/busybox grep Seccomp /proc/self/status > /seccomp.txt && /probe ${compared.join(' ')} > /probes.txt"]`,
    'FROM scratch',
    'COPY --from=probe /seccomp.txt /probes.txt /',
    '',
  ].join('\n');

  function context(): string {
    const dir = tempDir();
    copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
    copyFileSync(path.join(probeDir, 'probe'), path.join(dir, 'probe'));
    writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    return dir;
  }
  const read = (dir: string): string[] => ['seccomp.txt', 'probes.txt'].map((f) => readFileSync(path.join(dir, f), 'utf8'));
  const expected = [`Seccomp:\t2\nSeccomp_filters:\t1\n`, lines(Object.fromEntries(compared.map((p) => [p, SANDBOXED[p] ?? ''])))];

  it('gives RUN the same filter status and the same answers to the probe', async () => {
    const dockerHost = await modernDockerHost();
    const buildkitOut = tempDir();
    execFileSync(
      'docker',
      ['buildx', 'build', '--builder', 'default', '--no-cache', '--network=none', '--output', `type=local,dest=${buildkitOut}`, context()],
      {
        env: { ...process.env, DOCKER_HOST: dockerHost },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const oursOut = tempDir();
    const root = tempDir();
    mkdirSync(path.join(root, 'state'));
    await build(
      testRequest({ context: context(), root: path.join(root, 'state') }, tempDir, { outputs: [parseOutput(`type=local,dest=${oursOut}`)] }),
    );
    expect(read(buildkitOut)).toEqual(expected);
    expect(read(oursOut)).toEqual(expected);
  }, 600_000);
});
