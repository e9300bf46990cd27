/**
 * Leases: what a running build (or pull) holds in the state root, so that a `prune` running at the
 * same time leaves it alone (containerd's leases, kept as files). A lease is a file
 * `<root>/leases/lease-<owner>-<random>` (`util/owner.ts`): a first line with the time it was
 * taken, then one line per blob digest, snapshot name or cache record (its key) the holder uses.
 * It ends when the holder closes it, or when the holder's process is gone, whatever killed it.
 *
 * A lease also names, before they are made, the snapshots a build commits for its steps (a line
 * `pending <key> <snapshot>`): such a snapshot is committed before its layer is written and its
 * cache record exists only after. A holder that fails in between removes those no record names
 * itself (`cache/unrecorded-steps.ts`); for one that was killed, the next command reads them from
 * the dead lease before it removes the file.
 *
 * Two rules protect what a holder uses:
 * - Anything made after the oldest live lease was taken (a blob's or cache record's mtime, a
 *   snapshot's creation time) is kept: a holder's new blobs, snapshots and cache records need no
 *   entry, and there is no window between writing one and recording it.
 * - Older things a holder starts to use (a cached step, a base image already stored) are added to
 *   the lease *before* the holder checks they exist. Adding takes the root's GC lock, which `prune`
 *   holds from reading the leases to its last deletion: so a thing is either seen by prune as
 *   leased, or deleted before the holder looks for it (and the holder then makes it again).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withFileLock } from './file-lock.js';
import { ownerAlive, ownerIn, ownerTag } from './owner.js';
import { namesIn, readOwnTextIfExists } from './absent.js';

/** What a lease holds. */
export interface LeaseItems {
  blobs?: readonly string[];
  snapshots?: readonly string[];
  /** Cache records, by the hex of their key (the name of their file in `cache-index/`). */
  records?: readonly string[];
}

/** A step snapshot a holder makes: its cache key (`sha256:…`) and the snapshot's name. */
export interface PendingStep {
  key: string;
  snapshot: string;
}

/** What all live leases hold together, and since when new things are protected. */
export interface LiveLeases {
  blobs: Set<string>;
  snapshots: Set<string>;
  records: Set<string>;
  /** Milliseconds since the epoch: anything newer is kept; undefined when no lease is live. */
  since: number | undefined;
}

/** Filesystem times are not finer than this everywhere; new things are protected this much earlier. */
const CLOCK_SLACK_MS = 2_000;

function leaseDir(root: string): string {
  return path.join(root, 'leases');
}

/** Runs `fn` holding the root's GC lock (prune's mark and sweep; lease additions). */
export function withGcLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(path.join(root, 'gc'), fn, 10 * 60 * 1000);
}

/** A lease held by this process. */
export class Lease {
  private closed = false;
  private readonly made: PendingStep[] = [];

  private constructor(
    private readonly root: string,
    private readonly file: string,
  ) {}

  /** Takes a new lease on `root`. */
  static async take(root: string): Promise<Lease> {
    const dir = leaseDir(root);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `lease-${ownerTag()}-${randomBytes(6).toString('hex')}`);
    await writeFile(file, `${JSON.stringify({ created: Date.now() })}\n`, { flag: 'wx' });
    return new Lease(root, file);
  }

  /** Adds things already stored to the lease; check that they exist only after this resolves. */
  async add(items: LeaseItems): Promise<void> {
    if (this.closed) return;
    const lines = [
      ...(items.blobs ?? []).map((b) => `blob ${b}`),
      ...(items.snapshots ?? []).map((s) => `snapshot ${s}`),
      ...(items.records ?? []).map((r) => `record ${r}`),
    ];
    if (lines.length === 0) return;
    // Appended synchronously, as the lock is taken: a line in a file of the state root (see `readOwnTextIfExists`).
    await withGcLock(this.root, async () => appendFileSync(this.file, `${lines.join('\n')}\n`));
  }

  /**
   * Names a step snapshot before it is made (see the top of this file). No lock: prune does not
   * read these lines, and a line this short is appended whole.
   */
  async pending(step: PendingStep): Promise<void> {
    if (this.closed) return;
    this.made.push(step);
    appendFileSync(this.file, `pending ${step.key} ${step.snapshot}\n`);
  }

  /** The step snapshots named with `pending`, in order. */
  pendingSteps(): readonly PendingStep[] {
    return this.made;
  }

  /** Ends the lease. */
  async close(): Promise<void> {
    this.closed = true;
    await rm(this.file, { force: true });
  }
}

/**
 * The live leases of `root`, read under the GC lock by the caller; the files of holders that are
 * gone are removed on the way unless `keepDead` (those naming pending step snapshots stay: see
 * `removeDeadLeases`).
 */
export async function liveLeases(root: string, options: { keepDead?: boolean } = {}): Promise<LiveLeases> {
  const live: LiveLeases = { blobs: new Set(), snapshots: new Set(), records: new Set(), since: undefined };
  const dir = leaseDir(root);
  if (!options.keepDead) await removeDeadLeases(root);
  for (const name of await namesIn(dir)) {
    const owner = ownerIn(name);
    if (owner === undefined || !ownerAlive(owner)) continue;
    const text = await readOwnTextIfExists(path.join(dir, name));
    if (text === undefined) continue;
    const [header = '', ...lines] = text.split('\n');
    const created = Number(parseHeader(header).created);
    // A lease whose header is not written yet is brand new: everything from now on is protected.
    const start = Number.isFinite(created) ? created : Date.now();
    live.since = Math.min(live.since ?? start, start - CLOCK_SLACK_MS);
    for (const line of lines) {
      if (line.startsWith('blob ')) live.blobs.add(line.slice(5));
      else if (line.startsWith('snapshot ')) live.snapshots.add(line.slice(9));
      else if (line.startsWith('record ')) live.records.add(line.slice(7));
    }
  }
  return live;
}

/**
 * Removes the lease files of holders that no longer run (a killed build's); returns how many.
 * `settle` is first given the step snapshots a dead lease names as pending (when it names any),
 * and says whether they are dealt with: when not (a caller that cannot remove snapshots), the file
 * stays for a later command.
 */
export async function removeDeadLeases(root: string, settle?: (pending: PendingStep[]) => Promise<boolean>): Promise<number> {
  const dir = leaseDir(root);
  let removed = 0;
  for (const name of await namesIn(dir)) {
    const owner = ownerIn(name);
    if (owner === undefined || ownerAlive(owner)) continue;
    const file = path.join(dir, name);
    const pending = pendingIn((await readOwnTextIfExists(file)) ?? '');
    if (pending.length > 0 && !(await (settle?.(pending) ?? Promise.resolve(false)))) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}

/** The `pending` lines of a lease file. */
function pendingIn(text: string): PendingStep[] {
  return text.split('\n').flatMap((line) => {
    const [word, key, snapshot, ...rest] = line.split(' ');
    return word === 'pending' && key && snapshot && rest.length === 0 ? [{ key, snapshot }] : [];
  });
}

function parseHeader(line: string): { created?: unknown } {
  try {
    return JSON.parse(line) as { created?: unknown };
  } catch {
    return {};
  }
}
