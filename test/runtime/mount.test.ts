import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mountAll, mountsUnder, unmountAll } from '../../src/runtime/mount.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const makeTempDir = useTempDirs('tsbuild-mount-');
const made: string[] = [];
const tempDir = (): string => {
  const dir = makeTempDir();
  made.push(dir);
  return dir;
};
// A failed test must not leave its mounts behind (nor fail the removal of its directories).
afterEach(async () => {
  for (const dir of made.splice(0)) for (const point of (await mountsUnder(dir)).reverse()) await unmountAll([point]).catch(() => undefined);
});

/** `count` read-only binds of one directory, each on its own mount point under a new directory. */
async function mountedBinds(count: number): Promise<{ dir: string; points: string[] }> {
  const dir = tempDir();
  const source = path.join(dir, 'source');
  mkdirSync(source);
  writeFileSync(path.join(source, 'f'), 'x');
  mkdirSync(path.join(source, 'sub'));
  const points: string[] = [];
  for (let i = 0; i < count; i++) {
    const point = path.join(dir, `m${i}`);
    mkdirSync(point);
    await mountAll([{ type: 'bind', source, options: ['ro', 'rbind'] }], point);
    points.push(point);
  }
  return { dir, points };
}

describe.skipIf(!isRoot)('unmountAll (real mounts)', () => {
  it('unmounts every target, nested mounts included', async () => {
    const { dir, points } = await mountedBinds(3);
    // A mount inside the second one: -R takes it too.
    const inner = path.join(dir, 'inner-source');
    mkdirSync(inner);
    await mountAll([{ type: 'bind', source: inner, options: ['rbind'] }], path.join(points[1] as string, 'sub'));
    expect((await mountsUnder(dir)).length).toBe(4);
    await unmountAll(points);
    expect(await mountsUnder(dir)).toEqual([]);
  });

  it('still unmounts the others when one target is not mounted', async () => {
    const { dir, points } = await mountedBinds(2);
    const notMounted = path.join(dir, 'plain');
    mkdirSync(notMounted);
    await unmountAll([points[0] as string, notMounted, points[1] as string]);
    expect(await mountsUnder(dir)).toEqual([]);
  });

  it('does nothing for no targets', async () => {
    await expect(unmountAll([])).resolves.toBeUndefined();
  });
});
