/**
 * COPY by hard links from the file mirror (issue 17, `fileops/deferred-links.ts`): on real overlay
 * snapshots, every case gives the same layers byte for byte in what they say (entries, types,
 * modes, owners, sizes, times, link targets, contents) with the mirror as without it, while the
 * files it may link are links; and nothing done to the image afterwards reaches the mirror.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTar } from '../../src/archive/tar.js';
import type { Digest } from '../../src/digest/digest.js';
import { FileMirror } from '../../src/fileops/file-mirror.js';
import { isRoot } from '../helpers/root.js';
import { runStage, type StageRun } from '../helpers/stage-runner.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-copylinks-');
const FIXED = new Date('2020-02-02T02:02:02Z');

/** A context of `files` (a name ending in `/` is a directory; `=name` makes a hard link to it), every time fixed. */
function contextWith(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(name.endsWith('/') ? file : path.dirname(file), { recursive: true });
    if (name.endsWith('/')) continue;
    if (content.startsWith('=')) linkSync(path.join(dir, content.slice(1)), file);
    else writeFileSync(file, content);
  }
  const touch = (p: string): void => {
    for (const name of readdirSync(p)) {
      const child = path.join(p, name);
      if (lstatSync(child).isDirectory()) touch(child);
      utimesSync(child, FIXED, FIXED);
    }
  };
  touch(dir);
  return dir;
}

/** Each layer's entries: type, name, mode, owner, size, time (a build's own time shown as `new`), link, content digest. */
async function layerListings(run: StageRun): Promise<string[][]> {
  const out: string[][] = [];
  for (const layer of run.layers) {
    const lines: string[] = [];
    const gz = await run.store.reader(layer.descriptor.digest as Digest);
    for await (const { header, body } of readTar(Readable.from(gz).pipe(createGunzip()))) {
      const hash = createHash('sha256');
      for await (const chunk of body) hash.update(chunk as Buffer);
      const time = header.mtime.getTime() === FIXED.getTime() ? 'fixed' : header.mtime.getTime() === 0 ? 'epoch' : 'new';
      const mode = (header.mode ?? 0).toString(8);
      lines.push(
        `${header.type} ${header.name} ${mode} ${header.uid}:${header.gid} ${header.size} ${time} ${header.linkname ?? ''} ${hash.digest('hex').slice(0, 12)}`,
      );
    }
    out.push(lines);
  }
  return out;
}

const cases: Array<{ name: string; files: Record<string, string>; dockerfile: string[]; linked: string[]; copiedOnly: string[] }> = [
  {
    name: 'a whole context into a new directory',
    files: { 'a.txt': 'a', 'src/b.js': 'b', 'src/deep/c.js': 'c', 'empty/': '' },
    dockerfile: ['COPY . /data/'],
    linked: ['/data/a.txt', '/data/src/b.js', '/data/src/deep/c.js'],
    copiedOnly: [],
  },
  {
    name: 'into a directory the base has: copied, not linked',
    files: { 'tool.sh': 'echo', 'd/x': 'x' },
    dockerfile: ['COPY tool.sh /bin/', 'COPY d /etc/'],
    linked: [],
    copiedOnly: ['/bin/tool.sh', '/etc/x'],
  },
  {
    name: 'over the same directory twice: the second copy merges into what the first made',
    files: { 'src/a': 'a', 'src/sub/b': 'b' },
    dockerfile: ['COPY src /app/src', 'COPY src /app/src'],
    linked: ['/app/src/a', '/app/src/sub/b'],
    copiedOnly: [],
  },
  {
    name: 'hard links of the context stay one group, copied',
    files: { 'h/one': 'same', 'h/two': '=h/one', 'h/solo': 's' },
    dockerfile: ['COPY h /h/'],
    linked: ['/h/solo'],
    copiedOnly: ['/h/one', '/h/two'],
  },
  {
    name: 'one source twice in one step: two files, not one inode',
    files: { 'dir/sub/x': 'x' },
    dockerfile: ['COPY dir dir/sub /two/'],
    linked: ['/two/sub/x'],
    copiedOnly: ['/two/x'],
  },
  {
    name: 'a directory of a later source replaces a file of an earlier one',
    files: { 'p/x': 'file', 'q/x/inner': 'inner' },
    dockerfile: ['COPY p/ q/ /merge/'],
    linked: ['/merge/x/inner'],
    copiedOnly: [],
  },
  {
    name: '--chmod, --chown and --link',
    files: { 's/a': 'a', 's/b/c': 'c' },
    dockerfile: ['COPY --chmod=600 s /m/', 'COPY --chown=1:2 s /o/', 'COPY --link s /l/'],
    // --link links into its own tree, whose layer is then unpacked onto the stage: copies there.
    linked: [],
    copiedOnly: ['/m/a', '/m/b/c', '/o/a', '/o/b/c', '/l/a', '/l/b/c'],
  },
  {
    name: '--parents and --exclude',
    files: { 'x/y/f': 'f', 'x/y/skip.log': 'l', 'x/z': 'z' },
    dockerfile: ['COPY --parents x/./y /p/', 'COPY --exclude=*.log x /e/'],
    linked: ['/p/y/f', '/e/y/f', '/e/z'],
    copiedOnly: [],
  },
];

describe.skipIf(!isRoot)('COPY by hard links from the file mirror', () => {
  it.each(cases)('$name: the same layers as a copy', async ({ files, dockerfile, linked, copiedOnly }) => {
    const context = contextWith(files);
    const text = ['FROM base', ...dockerfile].join('\n');
    const copied = await runStage(text, { root: tempDir(), scratch: tempDir, context });
    const root = tempDir();
    const withLinks = await runStage(text, { root, scratch: tempDir, context, mirror: true });
    expect(await layerListings(withLinks)).toEqual(await layerListings(copied));
    // The files it may link are links into the mirror; the others are files of their own.
    expect(await linkCounts(withLinks, linked)).toEqual(linked.map(() => true));
    expect(await linkCounts(withLinks, copiedOnly)).toEqual(copiedOnly.map(() => false));
  });

  it('a RUN that changes a linked file, or an edit of the context, never reaches the mirror or an earlier image', async () => {
    const context = contextWith({ 'conf.txt': 'v1\n' });
    const root = tempDir();
    const first = await runStage(['FROM base', 'COPY conf.txt /data/', 'RUN echo run >> /data/conf.txt && cat /data/conf.txt'].join('\n'), {
      root,
      scratch: tempDir,
      context,
      mirror: true,
    });
    expect(first.output).toBe('v1\nrun\n');
    const mirror = FileMirror.of(root);
    const entries = readdirSync(mirror.dir);
    expect(entries.map((e) => readFileSync(path.join(mirror.dir, e), 'utf8'))).toEqual(['v1\n']);
    // Edited in place, as `echo >>` does: a new version, a new entry; the old one is untouched.
    appendFileSync(path.join(context, 'conf.txt'), 'v2\n');
    const second = await runStage(['FROM base', 'COPY conf.txt /data/', 'RUN cat /data/conf.txt'].join('\n'), {
      root,
      scratch: tempDir,
      context,
      mirror: true,
    });
    expect(second.output).toBe('v1\nv2\n');
    expect(
      readdirSync(mirror.dir)
        .map((e) => readFileSync(path.join(mirror.dir, e), 'utf8'))
        .sort(),
    ).toEqual(['v1\n', 'v1\nv2\n']);
  });

  it('prune removes the entries no snapshot links, and only those', async () => {
    const context = contextWith({ 'kept.txt': 'k', 'gone.txt': 'g' });
    const root = tempDir();
    const run = await runStage(['FROM base', 'COPY kept.txt gone.txt /data/'].join('\n'), { root, scratch: tempDir, context, mirror: true });
    const mirror = FileMirror.of(root);
    expect(readdirSync(mirror.dir)).toHaveLength(2);
    expect(await mirror.prune()).toEqual({ entries: 0, bytes: 0 });
    await run.snaps.remove(run.last);
    expect(await mirror.prune()).toEqual({ entries: 2, bytes: 2 });
    expect(readdirSync(mirror.dir)).toEqual([]);
  });
});

/** For each path: whether a snapshot of the run holds it as a link to one of the mirror's entries. */
async function linkCounts(run: StageRun, paths: string[]): Promise<boolean[]> {
  const mirror = FileMirror.of(run.root).dir;
  const names = existsSync(mirror) ? readdirSync(mirror) : [];
  const entries = new Set(names.map((name) => statSync(path.join(mirror, name)).ino));
  const snapshots = path.join(run.root, 'snapshots');
  const found = new Set<string>();
  for (const id of readdirSync(snapshots)) {
    if (!lstatSync(path.join(snapshots, id)).isDirectory()) continue;
    for (const p of paths) {
      const stat = statSync(path.join(snapshots, id, 'fs', p), { throwIfNoEntry: false });
      if (stat?.isFile() && entries.has(stat.ino)) found.add(p);
    }
  }
  return paths.map((p) => found.has(p));
}
