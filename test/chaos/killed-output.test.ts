/**
 * A build SIGKILLed while it writes a file output (`-o type=tar|oci|docker,dest=F`, or an OCI
 * layout directory) leaves its half-written temporary file beside the destination and, for a tar of
 * the root filesystem, the tree it was made from. The next build writing that destination removes
 * them: nothing but the finished output is left beside it, and nothing in the state root.
 *
 * The image has one 48 MiB layer of random bytes, so the writing takes long enough to be caught:
 * the test watches the destination's directory (inotify) and kills the build the moment its
 * temporary file appears. The root is shared by the rows: the layer is made once.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { isRoot } from '../helpers/root.js';
import { projectRoot } from '../helpers/shared.js';
import { leftovers, NOTHING_LEFT } from '../helpers/state-root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-killed-output-');
let root: string;
let context: string;

beforeAll(() => {
  if (!isRoot) return;
  root = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-killed-output-root-'));
  context = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-killed-output-context-'));
  writeFileSync(path.join(context, 'big'), randomBytes(48 * 1024 * 1024));
  writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY big /big\n');
  // The layer is made here, once; each row's builds only write the output.
  const first = tsbuild(['--root', root, 'build', '-q', context], { timeout: 120_000 });
  expect([first.status, first.stderr]).toEqual([0, '']);
}, 180_000);
afterAll(() => {
  for (const dir of [root, context]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs a build with `output` and SIGKILLs it when a file whose name `isTemp` accepts appears in
 * `watched`; resolves with the signal that ended it (null when it finished before being caught).
 */
function buildKilledWhenWriting(output: string, watched: string, isTemp: (name: string) => boolean): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'tsbuild.js'), '--root', root, 'build', '-q', '-o', output, context], {
    stdio: 'ignore',
  });
  const watcher = watch(watched, (_event, name) => {
    if (name !== null && isTemp(name)) child.kill('SIGKILL');
  });
  return new Promise((resolve) =>
    child.on('close', (_status, signal) => {
      watcher.close();
      resolve(signal);
    }),
  );
}

/** What is in `dir`, a level deep (`blobs/sha256/…` for a layout's blobs). */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe.skipIf(!isRoot)('a build killed while writing a file output', () => {
  it.each([
    {
      output: 'type=tar,dest={out}/out.tar',
      watch: '{out}',
      temp: /^out\.tar\.tmp-/,
      finished: ['out.tar'],
      holds: 'big',
    },
    {
      output: 'type=oci,dest={out}/out.tar',
      watch: '{out}',
      temp: /^out\.tar\.tmp-/,
      finished: ['out.tar'],
      holds: 'index.json',
    },
    {
      output: 'type=docker,dest={out}/out.tar',
      watch: '{out}',
      temp: /^out\.tar\.tmp-/,
      finished: ['out.tar'],
      holds: 'manifest.json',
    },
    {
      output: 'type=oci,tar=false,dest={out}/layout',
      watch: '{out}/layout/blobs/sha256',
      temp: /\.tmp-/,
      finished: ['layout', 'layout/blobs', 'layout/blobs/sha256', 'layout/index.json', 'layout/oci-layout'],
      holds: undefined,
    },
  ])(
    '$output: the next build leaves only the output',
    async ({ output, watch: watchedDir, temp, finished, holds }) => {
      const out = tempDir();
      const at = (s: string): string => s.replaceAll('{out}', out);
      mkdirSync(at(watchedDir), { recursive: true });
      const signal = await buildKilledWhenWriting(at(output), at(watchedDir), (name) => temp.test(name));
      // The kill landed mid-write: the temporary file is there (and, for the tar, nothing finished).
      expect(signal).toBe('SIGKILL');
      expect(listing(out).filter((name) => temp.test(path.basename(name))).length).toBeGreaterThan(0);

      const again = tsbuild(['--root', root, 'build', '-q', '-o', at(output), context], { timeout: 120_000 });
      expect([again.status, again.stderr]).toEqual([0, '']);
      // The layout's blobs are named by their digests; only the names are compared.
      const names = listing(out).map((name) => name.replace(/sha256\/[0-9a-f]{64}$/, 'sha256/<digest>'));
      expect(names.filter((name) => !name.endsWith('/<digest>'))).toEqual(finished);
      if (holds) expect(execFileSync('tar', ['-tf', path.join(out, 'out.tar')], { encoding: 'utf8' }).split('\n')).toContain(holds);
      expect(leftovers(root)).toEqual(NOTHING_LEFT);
    },
    120_000,
  );
});
