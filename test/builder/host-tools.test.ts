/**
 * Issue 21's two defects, end to end through the CLI: a host tool that is missing is an error naming
 * the tool, never an empty result (with `getfattr` gone, a RUN that replaced a directory used to
 * succeed and lose the opaque marker of its layer); and `build` reads the Dockerfile as
 * `--print-plan` does (a context holding only a lowercase `dockerfile`).
 */
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-host-tools-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

/** A PATH with every command of the system's but `hidden`. */
function pathWithout(hidden: string): string {
  const dir = tempDir();
  for (const from of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    let names: string[];
    try {
      names = readdirSync(from);
    } catch {
      continue; // a directory this machine lacks
    }
    for (const name of names) {
      if (name === hidden) continue;
      try {
        symlinkSync(path.join(from, name), path.join(dir, name));
      } catch {
        // the same name from an earlier directory wins, as on PATH
      }
    }
  }
  return dir;
}

describe.skipIf(!isRoot || !registryAvailable)('a missing host tool', () => {
  it('getfattr missing: a RUN that replaces a directory fails naming the tool (its layer would lose the opaque marker)', () => {
    const context = tempDir();
    writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM ${busybox.registry().host}/busybox:1\nRUN mkdir /d && echo a > /d/a\nRUN rm -rf /d && mkdir /d && echo b > /d/b\n`,
    );
    const env = { PATH: pathWithout('getfattr'), TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const result = tsbuild(['--root', tempDir(), 'build', '-q', context], { env, timeout: 120_000 });
    // The first RUN already needs it (its layer's attributes); buildx's block names that step.
    const host = busybox.registry().host;
    expect([result.status, result.stderr]).toEqual([
      1,
      [
        '------',
        ' > [2/3] RUN mkdir /d && echo a > /d/a:',
        '------',
        'Dockerfile:2',
        '--------------------',
        `   1 |     FROM ${host}/busybox:1`,
        '   2 | >>> RUN mkdir /d && echo a > /d/a',
        '   3 |     RUN rm -rf /d && mkdir /d && echo b > /d/b',
        '   4 |     ',
        '--------------------',
        'ERROR: failed to build: failed to solve: getfattr is not installed (not found on PATH)',
        'install it: apt-get install attr',
        '',
      ].join('\n'),
    ]);
  });
});

describe('the Dockerfile, found the same way by build and --print-plan', () => {
  it('a context holding only a lowercase dockerfile', () => {
    const context = tempDir();
    mkdirSync(path.join(context, 'sub'));
    writeFileSync(path.join(context, 'dockerfile'), 'FROM scratch\nWORKDIR /w\n');
    const plan = tsbuild(['build', '--print-plan', context]);
    expect([plan.status, plan.stdout]).toEqual([0, expect.stringContaining('WORKDIR /w')]);
    if (!isRoot) return;
    const built = tsbuild(['--root', tempDir(), 'build', '-q', context], { timeout: 60_000 });
    expect([built.status, built.stderr, built.stdout]).toEqual([0, '', expect.stringMatching(/^sha256:[0-9a-f]{64}\n$/)]);
  });
});
