import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('tsbuild build', () => {
  it('finds a lowercase dockerfile and plans it as the default command', () => {
    writeFileSync(path.join(dir, 'dockerfile'), 'FROM scratch\nCOPY a /a\n');
    const result = tsbuild(['--print-plan=json', dir]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).stages[0].steps[0].name).toBe('[1/1] COPY a /a');
  });

  it('takes a bare --build-arg from the environment and -f from anywhere', () => {
    const file = path.join(dir, 'Build.dockerfile');
    writeFileSync(file, 'FROM scratch\nARG FROM_ENV\nLABEL v=$FROM_ENV\n');
    const result = tsbuild(['build', '--print-plan=json', '-f', file, '--build-arg', 'FROM_ENV', dir], { env: { FROM_ENV: 'env-value' } });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).stages[0].config.Labels).toEqual({ v: 'env-value' });
  });

  it('prints warnings on stderr and the plan on stdout', () => {
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
    const result = tsbuild(['build', '--print-plan', '--build-arg', 'NOPE=1', dir]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('warning: One or more build-args [NOPE] were not consumed\n');
    expect(result.stdout.startsWith(`Dockerfile: ${path.join(dir, 'Dockerfile')}\n`)).toBe(true);
  });

  it.each([
    [['build', '--print-plan', '/nonexistent/context'], 'error: unable to prepare context: path "/nonexistent/context" not found\n'],
    [['build', '--print-plan=yaml', '.'], 'error: unknown --print-plan format "yaml"\nuse --print-plan or --print-plan=json\n'],
  ])('%j fails with one clear line', (args, stderr) => {
    const result = tsbuild(args);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(stderr);
  });

  it('reports a missing Dockerfile with a hint', () => {
    const result = tsbuild(['build', '--print-plan', dir]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `error: failed to read dockerfile: open ${path.join(dir, 'Dockerfile')}: no such file or directory\ngive its path with -f\n`,
    );
  });

  it('lists its options in --help', () => {
    const result = tsbuild(['build', '--help']);
    expect(result.status).toBe(0);
    for (const flag of [
      '--file',
      '--tag',
      '--target',
      '--build-arg',
      '--label',
      '--platform',
      '--print-plan',
      '--build-context',
      '--load',
      '--ssh',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)('tsbuild build: cache flags through the command line', () => {
  it('--no-cache reruns every step, --no-cache-filter one stage, -j bounds the stages', () => {
    writeFileSync(path.join(dir, 'a.txt'), 'a\n');
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch AS one\nCOPY a.txt /one/\nFROM scratch\nCOPY --from=one /one /two\nCOPY a.txt /\n');
    const root = path.join(dir, '.root');
    const run = (...args: string[]): string => {
      const result = tsbuild(['--root', root, 'build', '--progress=plain', ...args, dir]);
      expect(result.status, result.stderr).toBe(0);
      return result.stderr.split('\n').find((l) => l.includes('steps run')) ?? '';
    };
    expect(run('-j', '1')).toBe('3 steps run, 0 cached');
    expect(run()).toBe('0 steps run, 3 cached');
    expect(run('--no-cache')).toBe('3 steps run, 0 cached');
    expect(run('--no-cache-filter', 'one')).toBe('1 steps run, 2 cached');
    expect(tsbuild(['--root', root, 'build', '-j', '0', dir]).stderr).toBe('error: invalid --jobs "0": expected a positive whole number\n');
  });
});
