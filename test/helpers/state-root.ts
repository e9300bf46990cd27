/**
 * Looking into a state root from the outside, as the chaos suite does after killing builds: what
 * a killed tsbuild may have left (mounts, scratch directories, runc containers and bundles, active
 * snapshots, snapshot directories no record names, ingest files, leases, temporary and lock files
 * beside the index files), whether every blob is what its name says, and which processes still run
 * for it. Read with plain `fs` and `runc` (never through tsbuild's own code), so a bug in tsbuild
 * cannot hide what it left.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';

/** What a state root holds that only a running tsbuild should hold; all empty when at rest. */
export interface Leftovers {
  mounts: string[];
  scratch: string[];
  containers: string[];
  bundles: string[];
  activeSnapshots: string[];
  /** Directories under `snapshots/` that no metadata record names. */
  orphanSnapshots: string[];
  /** Links under `snapshots/l/` whose snapshot directory is gone. */
  danglingLinks: string[];
  /**
   * Committed step snapshots (`step-…`) that no cache record names and nothing is built on: what a
   * build killed between a step's commit and its cache record leaves (and, for `prune`, the
   * snapshot of a record a `--no-cache` build replaced).
   */
  unrecordedSteps: string[];
  ingest: string[];
  leases: string[];
  /**
   * Temporary files of atomic writes (`<file>.tmp-<owner>-…`), staged or held lock files, and
   * set-aside damaged files, anywhere but in blobs, snapshot trees and cache mounts.
   */
  strayFiles: string[];
}

/** A root at rest: nothing left at all. */
export const NOTHING_LEFT: Leftovers = {
  mounts: [],
  scratch: [],
  containers: [],
  bundles: [],
  activeSnapshots: [],
  orphanSnapshots: [],
  danglingLinks: [],
  unrecordedSteps: [],
  ingest: [],
  leases: [],
  strayFiles: [],
};

const names = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** Mount points at or below `root` in this process's mount namespace (the CLI's too). */
export function mountsBelow(root: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((point) => point === root || point.startsWith(`${root}/`));
}

/** Container ids `runc list` reports for the root's runc state directory. */
export function runcContainers(root: string): string[] {
  const state = path.join(root, 'runc', 'state');
  if (!existsSync(state)) return [];
  const listed = spawnSync('runc', ['--root', state, 'list', '-q'], { encoding: 'utf8' });
  return listed.stdout.split('\n').filter(Boolean).sort();
}

/** The overlay snapshotter's metadata records (`{}` without a metadata file). */
function snapshotRecords(root: string): Record<string, { kind: string; id: string; parent?: string }> {
  const file = path.join(root, 'snapshots', 'metadata.json');
  if (!existsSync(file)) return {};
  return (JSON.parse(readFileSync(file, 'utf8')) as { snapshots: Record<string, { kind: string; id: string; parent?: string }> }).snapshots;
}

/** The snapshots the cache records of `root` name. */
function recordedSnapshots(root: string): Set<string> {
  const dir = path.join(root, 'cache-index');
  return new Set(
    names(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => (JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as { snapshot: string }).snapshot),
  );
}

/** Files below `dir` (relative paths), not descending into directories `skip` names. */
function filesBelow(dir: string, skip: (rel: string) => boolean, rel = ''): string[] {
  const out: string[] = [];
  for (const name of names(path.join(dir, rel))) {
    const child = rel === '' ? name : `${rel}/${name}`;
    const info = statSync(path.join(dir, child), { throwIfNoEntry: false });
    if (!info?.isDirectory()) out.push(child);
    else if (!skip(child)) out.push(...filesBelow(dir, skip, child));
  }
  return out;
}

/** Directories holding content (blobs, snapshot trees, cache mounts), not tsbuild's own files. */
const CONTENT_DIRS = /^(blobs|snapshots\/[0-9a-f]{24}|snapshots\/l|snapshots-copy\/[0-9a-f]{24}|cache\/[^/]+)$/;

export function leftovers(root: string): Leftovers {
  const records = snapshotRecords(root);
  const ids = new Set(Object.values(records).map((r) => r.id));
  const snapshotDir = path.join(root, 'snapshots');
  return {
    mounts: mountsBelow(root),
    scratch: names(path.join(root, 'tmp')),
    containers: runcContainers(root),
    bundles: names(path.join(root, 'runc', 'bundles')),
    activeSnapshots: Object.entries(records)
      .filter(([, r]) => r.kind !== 'committed')
      .map(([key]) => key)
      .sort(),
    orphanSnapshots: names(snapshotDir).filter((n) => /^[0-9a-f]{24}$/.test(n) && !ids.has(n)),
    danglingLinks: names(path.join(snapshotDir, 'l')).filter(
      (n) => !existsSync(path.join(snapshotDir, 'l', readlinkSync(path.join(snapshotDir, 'l', n)))),
    ),
    unrecordedSteps: unrecordedSteps(root, records),
    ingest: names(path.join(root, 'ingest')),
    leases: names(path.join(root, 'leases')),
    strayFiles: filesBelow(root, (rel) => CONTENT_DIRS.test(rel)).filter((rel) => /\.(tmp|lock)(-|\.|$)|\.corrupt-/.test(rel)),
  };
}

function unrecordedSteps(root: string, records: ReturnType<typeof snapshotRecords>): string[] {
  const parents = new Set(Object.values(records).map((r) => r.parent));
  return stepsWithoutRecord(root).filter((key) => !parents.has(key));
}

/**
 * Committed step snapshots that no cache record names, whatever is built on them (a killed build's
 * next step may have prepared its own snapshot on one): what the reclaim takes with a dead lease.
 */
export function stepsWithoutRecord(root: string): string[] {
  const recorded = recordedSnapshots(root);
  return Object.entries(snapshotRecords(root))
    .filter(([key, r]) => r.kind === 'committed' && key.startsWith('step-') && !recorded.has(key))
    .map(([key]) => key)
    .sort();
}

/** How many things a `Leftovers` lists in all. */
export function countLeftovers(found: Leftovers): number {
  return (Object.values(found) as string[][]).reduce((sum, list) => sum + list.length, 0);
}

/** Blobs whose bytes do not hash to their name, and how many there are in all. */
export function verifyBlobs(root: string): { count: number; bad: string[] } {
  const dir = path.join(root, 'blobs', 'sha256');
  const all = names(dir);
  const bad = all.filter(
    (hex) =>
      createHash('sha256')
        .update(readFileSync(path.join(dir, hex)))
        .digest('hex') !== hex,
  );
  return { count: all.length, bad };
}

/** Processes (other than this one) whose command line contains any of `needles`, as `pid command`. */
export function processesMentioning(needles: readonly string[]): string[] {
  const found: string[] = [];
  for (const pid of names('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue; // it ended meanwhile
    }
    if (needles.some((n) => cmdline.includes(n))) found.push(`${pid} ${cmdline.slice(0, 200)}`);
  }
  return found;
}
