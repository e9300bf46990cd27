/**
 * What the command loads before it works (issue 17, docs/performance.md "Start-up"): `--version`
 * reads the command line alone, none of the library, and a build that pulls nothing never loads
 * the registry's HTTP stack. Observed from outside, through the built command: Node's list of the
 * built-in modules the process loaded, written by a preloaded module when the process exits.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-start-up-');

/** The built-in modules `tsbuild ...args` loaded, and its result. */
function builtinsOf(args: (dirs: () => string) => string[]): { loaded: Set<string>; status: number | null; stderr: string } {
  const work = tempDir();
  const list = path.join(work, 'builtins.txt');
  const hook = path.join(work, 'hook.mjs');
  writeFileSync(
    hook,
    `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`,
  );
  const result = tsbuild(args(tempDir), { env: { NODE_OPTIONS: `--import=${hook}` }, timeout: 60_000 });
  const loaded = new Set(
    readFileSync(list, 'utf8')
      .split('\n')
      .filter((m) => m.startsWith('NativeModule '))
      .map((m) => m.slice('NativeModule '.length)),
  );
  return { loaded, status: result.status, stderr: result.stderr };
}

/** A context of one file, copied into an image from scratch: no base image, no registry. */
function scratchBuild(dirs: () => string): string[] {
  const context = dirs();
  writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\n');
  writeFileSync(path.join(context, 'a.txt'), 'a\n');
  return ['--root', dirs(), 'build', '-q', context];
}

const cases: Array<{ name: string; args: (dirs: () => string) => string[]; absent: string[]; root?: boolean }> = [
  // The library's own imports: hashing, compression, the registry's HTTP stack, the helpers' line reader.
  { name: '--version', args: () => ['--version'], absent: ['crypto', 'zlib', 'readline', 'http', 'https', 'tls'] },
  { name: '--help', args: () => ['--help'], absent: ['crypto', 'zlib', 'readline', 'http', 'https', 'tls'] },
  { name: 'a build that pulls nothing', args: scratchBuild, absent: ['http', 'https', 'tls'], root: true },
];

describe('start-up: what the command loads', () => {
  it.each(cases)('$name loads none of $absent', ({ args, absent, root }) => {
    if (root && !isRoot) return;
    const { loaded, status, stderr } = builtinsOf(args);
    expect([status, stderr]).toEqual([0, '']);
    // The list is real: the process did load what every command needs.
    expect(loaded.has('fs')).toBe(true);
    expect(absent.filter((m) => loaded.has(m))).toEqual([]);
  });
});
