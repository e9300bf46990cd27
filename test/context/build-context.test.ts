import { mkdirSync, rmSync, symlinkSync, writeFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextTree, loadBuildContext, walkContext } from '../../src/context/build-context.js';
import { parseDockerignore } from '../../src/context/dockerignore.js';
import { ChecksumCache, checksumSources } from '../../src/fileops/checksum.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-ctx-');

/** Writes files (`dir/` for directories) into a new temp dir. */
function tree(files: Record<string, string>): string {
  const root = tempDir();
  for (const [name, content] of Object.entries(files)) {
    const abs = path.join(root, name);
    if (name.endsWith('/')) mkdirSync(abs, { recursive: true });
    else {
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    }
  }
  return root;
}

async function listing(root: string, dockerfile?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of walkContext(await loadBuildContext(root, dockerfile))) out.push(e.rel);
  return out;
}

describe('build context', () => {
  it('applies .dockerignore like BuildKit’s integration test (only foo and bay)', async () => {
    const root = tree({
      foo: 'foo',
      bar: 'bar',
      baz: 'baz',
      bay: 'bay',
      Dockerfile: 'FROM scratch',
      '.dockerignore': 'ba*\nDockerfile\n!bay\n.dockerignore\n',
    });
    expect(await listing(root)).toEqual(['bay', 'foo']);
  });

  it('brings the parents of a re-included file and skips the rest of the excluded directory', async () => {
    const root = tree({ 'foo/bar1': '', 'foo/bar2': '', foo2: '', bar: '', '.dockerignore': 'foo*\n!foo/bar2\n' });
    expect(await listing(root)).toEqual(['.dockerignore', 'bar', 'foo', 'foo/bar2']);
  });

  it('prefers <Dockerfile>.dockerignore next to the Dockerfile', async () => {
    const root = tree({ a: '', b: '', '.dockerignore': 'a\n', 'build/Dockerfile.web': '', 'build/Dockerfile.web.dockerignore': 'b\nbuild\n' });
    expect(await listing(root, path.join(root, 'build/Dockerfile.web'))).toEqual(['.dockerignore', 'a']);
  });

  it('fails quickly on a bare ! line', async () => {
    await expect(loadBuildContext(tree({ '.dockerignore': 'a\n!\n' }))).rejects.toThrow('.dockerignore:2: illegal exclusion pattern: "!"');
  });
});

describe('content checksums', () => {
  it('change with content, mode and names, not with unrelated files or mtimes', async () => {
    const root = tree({ foo1: 'one', foo2: 'two', bar: 'bar', 'dir/x': 'x' });
    const ctx = contextTree(await loadBuildContext(root));
    const sum = (): Promise<string> => checksumSources(ctx, ['foo*', 'dir']);
    const first = await sum();
    writeFileSync(path.join(root, 'bar'), 'changed');
    utimesSync(path.join(root, 'foo1'), new Date(1000), new Date(1000));
    expect(await sum()).toBe(first);
    writeFileSync(path.join(root, 'foo2'), 'TWO');
    const second = await sum();
    expect(second).not.toBe(first);
    writeFileSync(path.join(root, 'foo2'), 'two');
    expect(await sum()).toBe(first);
    (await import('node:fs')).renameSync(path.join(root, 'foo1'), path.join(root, 'foo3'));
    expect(await sum()).not.toBe(first);
  });

  it('follow source symlinks, keep symlinks inside directories, and skip ignored and excluded files', async () => {
    const root = tree({ 'sub/a.txt': 'a', 'sub/b.png': 'b', secret: 's', '.dockerignore': 'secret\n' });
    symlinkSync('sub', path.join(root, 'link'));
    symlinkSync('a.txt', path.join(root, 'sub', 'inner'));
    const ctx = contextTree(await loadBuildContext(root));
    const throughLink = await checksumSources(ctx, ['link']);
    writeFileSync(path.join(root, 'sub', 'a.txt'), 'A');
    expect(await checksumSources(ctx, ['link'])).not.toBe(throughLink);
    await expect(checksumSources(ctx, ['secret'])).rejects.toThrow('"/secret": not found');
    await expect(checksumSources(ctx, ['../../etc/passwd'])).rejects.toThrow('"/etc/passwd": not found');
    const withExclude = await checksumSources(ctx, ['sub'], { exclude: parseDockerignore('*.png') });
    writeFileSync(path.join(root, 'sub', 'b.png'), 'changed');
    expect(await checksumSources(ctx, ['sub'], { exclude: parseDockerignore('*.png') })).toBe(withExclude);
    expect(await checksumSources(ctx, ['nomatch*'])).toMatch(/^sha256:/);
  });

  it('re-hash nothing on an unchanged second pass, through the persisted stat cache', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`d${i % 5}/f${i}`] = `content ${i}`;
    const root = tree(files);
    const state = tempDir();
    const ctx = contextTree(await loadBuildContext(root));
    const first = await ChecksumCache.for(state, root).load();
    const digest = await checksumSources(ctx, ['.'], { cache: first });
    await first.save();
    expect(first.hashed).toBe(50);
    const second = await ChecksumCache.for(state, root).load();
    expect(await checksumSources(ctx, ['.'], { cache: second })).toBe(digest);
    expect(second.hashed).toBe(0);
    writeFileSync(path.join(root, 'd1', 'f1'), 'edited');
    expect(await checksumSources(ctx, ['.'], { cache: second })).not.toBe(digest);
    expect(second.hashed).toBe(1);
  });

  // A build's COPY waits for its mount at the next turn after its key (`builder/step-keys.ts`): the
  // cache is written then, not at the build's end. A write that fails there is made again, and
  // reported, by `save()`.
  it('saveSoon writes the stat cache at the next turn; save() reports a write that failed', async () => {
    const root = tree({ a: 'x', 'd/b': 'y' });
    const ctx = contextTree(await loadBuildContext(root));
    const state = tempDir();
    const first = await ChecksumCache.for(state, root).load();
    await checksumSources(ctx, ['.'], { cache: first });
    first.saveSoon();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const reloaded = await ChecksumCache.for(state, root).load();
    await checksumSources(ctx, ['.'], { cache: reloaded });
    expect(reloaded.hashed).toBe(0);

    const blocked = tempDir();
    writeFileSync(path.join(blocked, 'checksums'), 'a file where the directory goes');
    const failing = await ChecksumCache.for(blocked, root).load();
    await checksumSources(ctx, ['.'], { cache: failing });
    failing.saveSoon();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(failing.save()).rejects.toMatchObject({ code: 'EEXIST' });
    rmSync(path.join(blocked, 'checksums'));
    await failing.save();
    const saved = await ChecksumCache.for(blocked, root).load();
    await checksumSources(ctx, ['.'], { cache: saved });
    expect(saved.hashed).toBe(0);
  });
});
