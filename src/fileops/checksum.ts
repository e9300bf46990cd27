/**
 * Content checksums of what a COPY/ADD reads, for its cache key: per matched source, every entry
 * below it with its relative path, type, mode, link target and content digest — never owners or
 * times (context files arrive as 0:0; mtimes are not part of the key). A renamed file changes the
 * key; an unrelated file does not.
 *
 * File digests are kept in a stat cache (`<state>/checksums/<context id>.json`): a file whose
 * path, size, mtime, inode and mode are unchanged is not read again, so an unchanged context costs
 * one `lstat` per file on the next build.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readOwnTextIfExists } from '../util/absent.js';
import { fileSha256 } from '../util/file-blocks.js';
import { SMALL_FILE, TimeSlicer } from '../util/time-slice.js';
import path from 'node:path';
import type { IgnoreMatcher } from '../context/dockerignore.js';
import { sha256Hex, type Digest } from '../digest/digest.js';
import { expandSource, type SourceTree } from './sources.js';
import { ignoreWarnings, isObject, readJsonOrSetAside, type Warn } from '../util/set-aside.js';

interface CacheEntry {
  size: number;
  /** mtime in milliseconds with its sub-millisecond fraction, as lstat reports it. */
  mtime: number;
  ino: number;
  mode: number;
  digest: string;
}

function isEntries(value: unknown): value is Record<string, CacheEntry> {
  return (
    isObject(value) &&
    Object.values(value).every(
      (e) =>
        isObject(e) &&
        typeof e.size === 'number' &&
        typeof e.mtime === 'number' &&
        typeof e.ino === 'number' &&
        typeof e.mode === 'number' &&
        typeof e.digest === 'string' &&
        /^[0-9a-f]{64}$/.test(e.digest),
    )
  );
}

/** The stat cache of one source tree, persisted under the state root. */
export class ChecksumCache {
  private entries = new Map<string, CacheEntry>();
  private dirty = false;
  /** A write `saveSoon` started. */
  private saving: Promise<void> | undefined;
  /** Files actually read (hashed) since construction: what a warm cache saves. */
  hashed = 0;

  /** `warn`: told when the stored cache is damaged and set aside. */
  constructor(
    private readonly file?: string,
    private readonly warn: Warn = ignoreWarnings,
  ) {}

  /** A cache for the tree at `root`, stored under `stateRoot`. */
  static for(stateRoot: string, root: string, warn?: Warn): ChecksumCache {
    const id = sha256Hex(path.resolve(root)).slice(0, 32);
    return new ChecksumCache(path.join(stateRoot, 'checksums', `${id}.json`), warn);
  }

  /** Reads the stored cache; a damaged one is set aside (every file is hashed again). */
  async load(): Promise<this> {
    if (!this.file) return this;
    const stored = await readJsonOrSetAside(
      this.file,
      isEntries,
      { what: 'checksum cache', consequence: 'the context files are hashed again', warn: this.warn },
      readOwnTextIfExists,
    );
    if (stored) this.entries = new Map(Object.entries(stored));
    return this;
  }

  /** Writes what changed since the last write; waits for a write `saveSoon` started. */
  async save(): Promise<void> {
    // A failed early write left the cache dirty: it is written (and its error reported) here.
    await this.saving?.catch(() => undefined);
    await this.write();
  }

  /**
   * Writes the cache at the event loop's next turn if a checksum added entries. A build asks for
   * it once a step's key is known (`builder/step-keys.ts`): the COPY then waits for its mount, where
   * the write (6 ms for 2,000 entries) takes nothing from the build; at the build's end it was the
   * last thing done (`docs/performance.md`). Whoever asks must `save()` before the state root's
   * directory may go.
   */
  saveSoon(): void {
    if (!this.file || !this.dirty || this.saving) return;
    const saving: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.write())
      .finally(() => {
        if (this.saving === saving) this.saving = undefined;
      });
    saving.catch(() => undefined); // `save()` writes again and reports a failure
    this.saving = saving;
  }

  private async write(): Promise<void> {
    if (!this.file || !this.dirty) return;
    // Entries added from here on make it dirty again.
    this.dirty = false;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)));
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  /** The cached sha256 of a regular file's content if its stat is unchanged; undefined otherwise. */
  known(key: string, stat: Stats): string | undefined {
    const cached = this.entries.get(key);
    if (cached && cached.size === stat.size && cached.mtime === stat.mtimeMs && cached.ino === stat.ino && cached.mode === stat.mode)
      return cached.digest;
    return undefined;
  }

  /** The sha256 of a regular file's content, from the cache when its stat is unchanged. */
  async fileDigest(abs: string, key: string, stat: Stats, signal?: AbortSignal): Promise<string> {
    const known = this.known(key, stat);
    if (known !== undefined) return known;
    const digest = stat.size <= SMALL_FILE ? sha256Hex(readFileSync(abs)) : await fileSha256(abs, signal);
    this.hashed++;
    this.entries.set(key, { size: stat.size, mtime: stat.mtimeMs, ino: stat.ino, mode: stat.mode, digest });
    this.dirty = true;
    return digest;
  }
}

export interface ChecksumOptions {
  /** `--exclude` patterns, matched relative to each source. */
  exclude?: IgnoreMatcher;
  cache?: ChecksumCache;
  signal?: AbortSignal;
}

/** The content checksum of `sources` (as written, after expansion) in `tree`. */
export async function checksumSources(tree: SourceTree, sources: readonly string[], options: ChecksumOptions = {}): Promise<Digest> {
  const cache = options.cache ?? new ChecksumCache();
  const hash = createHash('sha256');
  const slicer = new TimeSlicer(options.signal);
  for (const source of sources) {
    const matches = await expandSource(tree, source);
    hash.update(`source ${source} ${matches.length}\n`);
    for (const match of matches) {
      // The root itself is matched under the context directory's own name and mode, neither of
      // which is part of what is copied: as in BuildKit, the same files in a directory named or
      // made otherwise (another checkout, a CI job's `mktemp -d`, another umask) give the same key.
      const root = match.matched === '';
      hash.update(`match ${root ? '' : match.name}\n`);
      await entryLines(tree, match.real, match.stat, root, {
        exclude: options.exclude,
        cache,
        slicer,
        emit: (line) => hash.update(line),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
  }
  return `sha256:${hash.digest('hex')}` as Digest;
}

/** What every entry of a walk uses. */
interface WalkOptions {
  exclude: IgnoreMatcher | undefined;
  cache: ChecksumCache;
  slicer: TimeSlicer;
  emit: (line: string) => void;
  signal?: AbortSignal;
}

/** An entry the walk has yet to emit. */
interface PendingEntry {
  real: string;
  rel: string;
  abs: string;
  stat: Stats;
}

/**
 * The lines of `real` and everything below it, depth first in name order. Small files are read and
 * hashed with synchronous calls in time slices (see `util/time-slice.ts`). The walk keeps its own
 * stack rather than recursing through async calls, and waits only where there is something to wait
 * for (a file to hash, the end of a slice): with a warm stat cache, a promise and a microtask turn
 * per entry were most of the walk (2,000 files: 53–134 ms before, `docs/performance.md`).
 */
async function entryLines(
  tree: SourceTree,
  real: string,
  stat: Stats,
  contextRoot: boolean,
  { exclude, cache, slicer, emit, signal }: WalkOptions,
): Promise<void> {
  const top: PendingEntry = { real, rel: '', abs: path.join(tree.root, real), stat };
  const pending = [top];
  for (let entry = pending.pop(); entry !== undefined; entry = pending.pop()) {
    if (slicer.due()) await slicer.pause();
    const { stat: info, abs } = entry;
    const type = info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'link' : info.isFile() ? 'file' : 'other';
    const mode = contextRoot && entry === top ? '' : (info.mode & 0o7777).toString(8);
    if (type === 'file') {
      const digest = cache.known(entry.real, info) ?? (await cache.fileDigest(abs, entry.real, info, signal));
      emit(`${entry.rel}\0file\0${mode}\0${digest}\n`);
    } else if (type === 'link') emit(`${entry.rel}\0link\0${mode}\0${readlinkSync(abs)}\n`);
    else emit(`${entry.rel}\0${type}\0${mode}\n`);
    if (type !== 'dir') continue;
    const children: PendingEntry[] = [];
    for (const name of readdirSync(abs).sort()) {
      // A directory of 100,000 entries still lets the event loop (progress, Ctrl-C) in.
      if (slicer.due()) await slicer.pause();
      const childReal = entry.real === '' ? name : `${entry.real}/${name}`;
      const childRel = entry.rel === '' ? name : `${entry.rel}/${name}`;
      if (tree.contains && !tree.contains(childReal)) continue;
      if (exclude?.excludes(childRel)) continue;
      // `abs` is clean and `name` a single component: no join per entry (2,000 of them cost ~20 ms).
      const childAbs = `${abs}/${name}`;
      children.push({ real: childReal, rel: childRel, abs: childAbs, stat: lstatSync(childAbs) });
    }
    // Pushed last child first, so the first is emitted next, before its siblings.
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i] as PendingEntry);
  }
}
