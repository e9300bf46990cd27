/**
 * Which platforms run natively, which need a QEMU binfmt_misc handler, and the one-line error a
 * build stops with when the handler is missing or disabled (a directory stands in for
 * /proc/sys/fs/binfmt_misc: the kernel's files are one `enabled`/`disabled` line and then details).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlatform } from '../../src/image/platform.js';
import { checkEmulation, qemuHandler, runsNatively } from '../../src/runtime/emulation.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-emulation-');

describe('runsNatively and qemuHandler', () => {
  const cases: Array<[host: string, target: string, native: boolean, handler: string]> = [
    ['linux/amd64', 'linux/amd64', true, 'qemu-x86_64'],
    ['linux/amd64', 'linux/386', true, 'qemu-i386'],
    ['linux/amd64', 'linux/arm64', false, 'qemu-aarch64'],
    ['linux/amd64', 'linux/arm/v7', false, 'qemu-arm'],
    ['linux/amd64', 'linux/riscv64', false, 'qemu-riscv64'],
    ['linux/amd64', 'linux/mips64le', false, 'qemu-mips64el'],
    ['linux/arm64', 'linux/arm/v7', true, 'qemu-arm'],
    ['linux/arm64', 'linux/amd64', false, 'qemu-x86_64'],
    ['linux/amd64', 'windows/amd64', false, 'qemu-x86_64'],
  ];
  it.each(cases)('%s runs %s natively: %s (handler %s)', (host, target, native, handler) => {
    expect(runsNatively(parsePlatform(host), parsePlatform(target))).toBe(native);
    expect(qemuHandler(parsePlatform(target))).toBe(handler);
  });
});

describe('checkEmulation', () => {
  const amd64 = parsePlatform('linux/amd64');
  const binfmt = (handlers: Record<string, string>): string => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    for (const [name, state] of Object.entries(handlers))
      writeFileSync(path.join(dir, name), `${state}\ninterpreter /usr/libexec/qemu-binfmt/x\nflags: POCF\n`);
    return dir;
  };
  const hint = (dir: string): string =>
    `install QEMU user emulation (apt-get install qemu-user-static) and make sure binfmt_misc is mounted on ${dir}`;

  it('passes native platforms without looking for handlers', async () => {
    await expect(checkEmulation(amd64, [amd64, parsePlatform('linux/386')], '/nonexistent')).resolves.toBeUndefined();
  });

  it('passes a foreign platform whose handler is enabled', async () => {
    const dir = binfmt({ 'qemu-aarch64': 'enabled', 'qemu-arm': 'enabled' });
    await expect(checkEmulation(amd64, [parsePlatform('linux/arm64'), parsePlatform('linux/arm/v7')], dir)).resolves.toBeUndefined();
  });

  const failures: Array<[string, Record<string, string>, string, string]> = [
    ['no handler', {}, 'linux/arm64', 'cannot run linux/arm64 steps on this linux/amd64 machine: no binfmt_misc handler qemu-aarch64'],
    [
      'a disabled handler',
      { 'qemu-aarch64': 'disabled' },
      'linux/arm64',
      'cannot run linux/arm64 steps on this linux/amd64 machine: the binfmt_misc handler qemu-aarch64 is disabled',
    ],
    [
      'another platform only',
      { 'qemu-aarch64': 'enabled' },
      'linux/s390x',
      'cannot run linux/s390x steps on this linux/amd64 machine: no binfmt_misc handler qemu-s390x',
    ],
  ];
  it.each(failures)('refuses with %s', async (_, handlers, target, message) => {
    const dir = binfmt(handlers);
    const error = await checkEmulation(amd64, [amd64, parsePlatform(target)], dir).then(
      () => undefined,
      (err: unknown) => err as Error & { code: string; hint: string },
    );
    expect([error?.message, error?.code, error?.hint]).toEqual([message, 'unsupported', hint(dir)]);
  });
});
