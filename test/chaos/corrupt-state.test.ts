/**
 * Damaged state files do not stop builds: each kind of index file tsbuild keeps in its root is
 * damaged the way a crash or a bad disk damages it, and the next `tsbuild build` prints one warning
 * line naming the file (set aside as `<file>.corrupt-<time>`), exits 0, and makes the very same
 * image as before (SOURCE_DATE_EPOCH is set, so steps run again give the same layers). A cache
 * record whose layer or snapshot is gone is a plain miss.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CacheRecord } from '../../src/cache/cache-index.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { tsbuild } from '../helpers/cli.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { leftovers } from '../helpers/state-root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-chaos-corrupt-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

/** Every file below `dir` whose name matches `pattern` (relative paths). */
function find(dir: string, pattern: RegExp, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const child = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) return /^(blobs|snapshots\/[0-9a-f]{24}|cache|tmp)$/.test(child) ? [] : find(dir, pattern, child);
    return pattern.test(child) ? [child] : [];
  });
}

const cut = (file: string): void => writeFileSync(file, readFileSync(file, 'utf8').slice(0, 30));
const zero = (file: string): void => writeFileSync(file, Buffer.alloc(readFileSync(file).length));

describe.skipIf(!isRoot || !registryAvailable)('a build over damaged state files', () => {
  it.each([
    {
      name: 'the cache records, cut short',
      files: /^cache-index\/[0-9a-f]{64}\.json$/,
      damage: cut,
      warning: /^warning: cache record \S+ is corrupt \(Unterminated string in JSON at position 30\): set aside as \S+; the step runs again$/,
      ran: 2,
    },
    {
      name: 'the image index, zeroed',
      files: /^images\.json$/,
      damage: zero,
      warning: /^warning: the image index \S+ is corrupt \(Unexpected token .*\): set aside as images\.json\.corrupt-\S+; kept 0, no record lost$/,
      ran: 0,
    },
    {
      name: 'the snapshot metadata, cut short',
      files: /^snapshots\/metadata\.json$/,
      damage: cut,
      warning:
        /^warning: the snapshot metadata \S+ is corrupt \(.* in JSON at position 30\): set aside as metadata\.json\.corrupt-\S+; kept 0, no record lost$/,
      ran: 2,
    },
    {
      name: 'the checksum cache, not JSON',
      files: /^checksums\/[0-9a-f]{32}\.json$/,
      damage: (file: string) => writeFileSync(file, 'checksums'),
      warning: /^warning: checksum cache \S+ is corrupt \(Unexpected token .*\): set aside as \S+; the context files are hashed again$/,
      ran: 0,
    },
    {
      name: 'the record of converted layers, not an object',
      zstd: true,
      files: /^recompressed\.json$/,
      damage: (file: string) => writeFileSync(file, '[1]'),
      warning: /^warning: the conversion record \S+ is corrupt \(not what tsbuild writes there\): set aside as \S+; layers are converted again$/,
      ran: 0,
    },
  ])('$name: one warning, exit 0, the same image', ({ files, damage, warning, ran, zstd }) => {
    const root = tempDir();
    const context = tempDir();
    writeFileSync(path.join(context, 'a.txt'), 'a\n');
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n`);
    const env = { SOURCE_DATE_EPOCH: '1700000000', TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const output = zstd ? ['-o', `type=oci,dest=${path.join(tempDir(), 'out.tar')},compression=zstd`] : [];
    const build = () => tsbuild(['--root', root, 'build', '--progress=plain', '-t', 'app:1', ...output, context], { env, timeout: 60_000 });
    const first = build();
    expect([first.status, first.stderr.includes('warning')]).toEqual([0, false]);
    const damaged = find(root, files);
    expect(damaged.length).toBeGreaterThan(0);
    for (const file of damaged) damage(path.join(root, file));

    const second = build();
    expect([second.status, second.stdout]).toEqual([0, first.stdout]);
    const warnings = second.stderr.split('\n').filter((line) => line.startsWith('warning:'));
    expect(warnings).toHaveLength(damaged.length);
    for (const line of warnings) expect(line).toMatch(warning);
    expect(second.stderr).toMatch(new RegExp(`^${ran} steps run, ${2 - ran} cached`, 'm'));
    expect(find(root, /\.corrupt-/).map((f) => f.replace(/\.corrupt-.*$/, ''))).toEqual(damaged);
    // Lost snapshots' directories are reclaimed, not left behind.
    expect(leftovers(root).orphanSnapshots).toEqual([]);
    const third = build();
    expect([third.status, third.stdout, third.stderr.includes('warning')]).toEqual([0, first.stdout, false]);
  });
});

describe.skipIf(!isRoot || !registryAvailable)('a cache record whose layer or snapshot is gone', () => {
  it.each([
    {
      name: 'its layer blob deleted',
      remove: (root: string, record: CacheRecord): Promise<void> =>
        Promise.resolve(rmSync(path.join(root, 'blobs', 'sha256', record.layer.descriptor.digest.slice(7)))),
    },
    {
      name: 'its snapshot removed',
      remove: (root: string, record: CacheRecord): Promise<void> => new OverlaySnapshotter(root).remove(record.snapshot),
    },
  ])('$name: a miss (the step runs again, saying why), no warning, the same image', async ({ remove }) => {
    const root = tempDir();
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN echo made > /made\n`);
    const env = { SOURCE_DATE_EPOCH: '1700000000', TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const build = () => tsbuild(['--root', root, 'build', '--progress=plain', '-t', 'app:1', context], { env, timeout: 60_000 });
    const first = build();
    expect(first.status).toBe(0);
    const [file] = find(root, /^cache-index\/[0-9a-f]{64}\.json$/);
    await remove(root, JSON.parse(readFileSync(path.join(root, file ?? ''), 'utf8')) as CacheRecord);
    const second = build();
    expect([second.status, second.stdout, second.stderr.includes('warning')]).toEqual([0, first.stdout, false]);
    expect(second.stderr).toMatch(/^#\d+ \[stage-0 2\/2\] RUN echo made > \/made \(cache miss: its cached result was removed\)$/m);
    expect(second.stderr).toMatch(/^1 steps run, 0 cached/m);
  });
});
