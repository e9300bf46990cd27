/**
 * `StateRoot.reclaim`, which every command that may mount, run containers or write blobs runs first:
 * each kind of thing a killed tsbuild leaves (named after a process that is gone) is removed,
 * whatever a live process owns stays, and with nothing to reclaim the cost is a few directory
 * reads (measured here with 100 dead entries of each kind and with none; docs/crash-safety.md).
 */
import { mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent, StepEvent } from '../../src/progress/events.js';
import type { ReclaimResult } from '../../src/state/reclaim-root.js';
import { StateRoot } from '../../src/state/state-root.js';
import { CacheIndex } from '../../src/cache/cache-index.js';
import { parseDigest } from '../../src/digest/digest.js';
import { Lease } from '../../src/util/lease.js';
import { mountsUnder } from '../../src/runtime/mount.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { ownerTag } from '../../src/util/owner.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { execFileSync } from 'node:child_process';

const tempDir = useTempDirs('tsbuild-reclaim-');
/** A tag no process can have: pids stop at 2^22. */
const DEAD = '2147483647.1';
const LIVE = ownerTag();

/** A root as tsbuild uses it: the overlay snapshotter recorded, its directories there. */
function newRoot(): string {
  const root = tempDir();
  writeFileSync(path.join(root, 'snapshotter'), 'overlay\n');
  for (const dir of ['tmp', 'ingest', 'leases', 'runc/bundles', 'cache-index/steps', 'checksums', 'cache', 'snapshots/l'])
    mkdirSync(path.join(root, dir), { recursive: true });
  return root;
}

/** `count` things of each kind left by the owner `tag`, as a killed build leaves them. */
async function leave(root: string, tag: string, count: number): Promise<void> {
  const snaps = new OverlaySnapshotter(root);
  for (let i = 0; i < count; i++) {
    const hex = i.toString(16).padStart(4, '0');
    mkdirSync(path.join(root, 'tmp', `exec-${tag}-${hex}`, 'rootfs'), { recursive: true });
    mkdirSync(path.join(root, 'runc', 'bundles', `tsbuild-${tag}-${hex}`));
    writeFileSync(path.join(root, 'ingest', `w-${tag}-${hex}`), 'half a blob');
    writeFileSync(path.join(root, 'leases', `lease-${tag}-${hex}`), '{"created":0}\n');
    writeFileSync(path.join(root, 'cache-index', `${'a'.repeat(60)}${hex}.json.tmp-${tag}-${hex}`), '{');
    writeFileSync(path.join(root, `images.json.lock-${tag}-${hex}`), tag);
    writeFileSync(path.join(root, 'snapshots', `metadata.json.tmp-${tag}-${hex}`), '{');
    await snaps.prepare(`exec-${tag}-${hex}`);
  }
}

/** Snapshot directories no record names: what a kill between mkdir and the metadata write leaves. */
function leaveOrphans(root: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const id = i.toString(16).padStart(24, 'f');
    mkdirSync(path.join(root, 'snapshots', id, 'fs'), { recursive: true });
    symlinkSync(path.join('..', id, 'fs'), path.join(root, 'snapshots', 'l', `ORPHAN${i.toString().padStart(4, 'A')}`.slice(0, 10)));
  }
}

/** Reclaims `root` as a command opening it does; `events` gets its progress. */
async function reclaimRoot(root: string, events: Array<ProgressEvent | StepEvent> = []): Promise<ReclaimResult> {
  return (await StateRoot.open(root, { emit: (event) => void events.push(event) })).reclaim();
}

const NOTHING: ReclaimResult = {
  containers: 0,
  scratch: 0,
  snapshots: 0,
  orphans: 0,
  unrecorded: 0,
  ingest: 0,
  leases: 0,
  temporary: 0,
  tempDirs: 0,
};

describe('StateRoot.reclaim', () => {
  it('removes every kind of thing dead owners left and nothing a live process owns', async () => {
    const root = newRoot();
    await leave(root, DEAD, 2);
    await leave(root, LIVE, 1);
    leaveOrphans(root, 1);
    const events: Array<ProgressEvent | StepEvent> = [];
    expect(await reclaimRoot(root, events)).toEqual({
      containers: 2,
      scratch: 2,
      snapshots: 2,
      orphans: 3,
      unrecorded: 0,
      ingest: 2,
      leases: 2,
      temporary: 4,
      tempDirs: 0,
    });
    expect(events).toEqual([
      {
        type: 'message',
        text: 'reclaimed what stopped tsbuild processes left: 2 containers, 2 scratch directories, 2 active snapshots, 3 orphaned snapshot entries, 2 ingest files, 2 leases, 4 temporary files',
      },
    ]);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([`exec-${LIVE}-0000`]);
    expect(readdirSync(path.join(root, 'runc', 'bundles'))).toEqual([`tsbuild-${LIVE}-0000`]);
    expect(readdirSync(path.join(root, 'ingest'))).toEqual([`w-${LIVE}-0000`]);
    expect(readdirSync(path.join(root, 'leases'))).toEqual([`lease-${LIVE}-0000`]);
    expect(readdirSync(path.join(root, 'cache-index')).sort()).toEqual([`${'a'.repeat(60)}0000.json.tmp-${LIVE}-0000`, 'steps']);
    expect(readdirSync(root).filter((n) => n.startsWith('images.json'))).toEqual([`images.json.lock-${LIVE}-0000`]);
    expect(readdirSync(path.join(root, 'snapshots')).filter((n) => n.startsWith('metadata.json.'))).toEqual([`metadata.json.tmp-${LIVE}-0000`]);
    const snaps = new OverlaySnapshotter(root);
    const [live] = await snaps.list();
    expect((await snaps.list()).map((s) => s.key)).toEqual([`exec-${LIVE}-0000`]);
    // The live snapshot keeps its directory and link; the orphan's are gone.
    const entries = readdirSync(path.join(root, 'snapshots'))
      .filter((n) => !n.startsWith('metadata.json.'))
      .sort();
    expect(entries).toEqual([path.basename(path.dirname(await snaps.upperDir(live?.key ?? ''))), 'l', 'metadata.json'].sort());
    expect(readdirSync(path.join(root, 'snapshots', 'l')).map((l) => readlinkSync(path.join(root, 'snapshots', 'l', l)))).toEqual([
      path.join('..', entries.find((e) => /^[0-9a-f]{24}$/.test(e)) ?? '', 'fs'),
    ]);
    events.length = 0;
    expect(await reclaimRoot(root, events)).toEqual(NOTHING);
    expect(events).toEqual([]);
  });

  it('removes the step snapshots a dead build committed and never recorded, as its lease names them', async () => {
    const root = newRoot();
    const snaps = new OverlaySnapshotter(root);
    const cache = new CacheIndex(root);
    const key = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
    const commit = async (name: string, parent?: string): Promise<void> => {
      await snaps.prepare(`exec-${LIVE}-${name}`, parent);
      await snaps.commit(name, `exec-${LIVE}-${name}`);
    };
    const record = (n: number, snapshot: string): Promise<void> =>
      cache.put(parseDigest(key(n)), {
        snapshot,
        layer: { descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: key(99), size: 1 }, diffID: key(99) },
        created: '2026-01-01T00:00:00Z',
      });
    // What the dead build named as pending, and what became of each step.
    const pending: Array<[number, string]> = [];
    const step = (n: number, name: string): string => (pending.push([n, name]), name);
    await commit(step(1, 'step-unrecorded')); // committed, its layer never written: goes
    await commit(step(2, 'step-recorded'));
    await record(2, 'step-recorded'); // recorded: stays
    await commit(step(3, 'step-parent'));
    await commit(step(4, 'step-child'), 'step-parent'); // an unrecorded chain: both go, child first
    await commit(step(5, 'step-under-recorded'));
    await commit(step(6, 'step-recorded-child'), 'step-under-recorded');
    await record(6, 'step-recorded-child'); // a recorded child keeps its unrecorded parent
    step(7, 'step-never-made'); // killed before its commit: nothing to do
    await commit(step(8, 'step-replaced'));
    await record(8, 'step-other-build'); // the record names another build's snapshot: goes
    await commit(step(9, 'step-leased'));
    await commit(step(10, 'sha256-base-layer')); // not a step snapshot (a damaged lease's line): stays
    const live = await Lease.take(root);
    await live.add({ snapshots: ['step-leased'] }); // a running build took it (from an older record): stays
    writeFileSync(
      path.join(root, 'leases', `lease-${DEAD}-000000000000`),
      ['{"created":1}', ...pending.map(([n, name]) => `pending ${key(n)} ${name}`), ''].join('\n'),
    );
    const events: Array<ProgressEvent | StepEvent> = [];
    expect(await reclaimRoot(root, events)).toEqual({ ...NOTHING, unrecorded: 4, leases: 1 });
    expect(events).toEqual([{ type: 'message', text: 'reclaimed what stopped tsbuild processes left: 4 unrecorded step snapshots, 1 lease' }]);
    expect((await snaps.list()).map((s) => s.key).sort()).toEqual([
      'sha256-base-layer',
      'step-leased',
      'step-recorded',
      'step-recorded-child',
      'step-under-recorded',
    ]);
    // The dead lease went; the live one stays.
    expect(readdirSync(path.join(root, 'leases')).map((n) => n.startsWith(`lease-${LIVE}-`))).toEqual([true]);
    await live.close();
    expect(await reclaimRoot(root)).toEqual(NOTHING);
  });

  it.skipIf(!isRoot)('unmounts what is mounted below a dead owner’s scratch directory before removing it', async () => {
    const root = newRoot();
    const scratch = path.join(root, 'tmp', `exec-${DEAD}-0000`);
    const mounted = path.join(scratch, 'rootfs');
    mkdirSync(mounted, { recursive: true });
    const source = tempDir();
    writeFileSync(path.join(source, 'precious'), 'not to be deleted');
    execFileSync('mount', ['--bind', source, mounted]);
    expect(await reclaimRoot(root)).toEqual({ ...NOTHING, scratch: 1 });
    expect(await mountsUnder(root)).toEqual([]);
    expect(readdirSync(source)).toEqual(['precious']);
  });

  it('shares one reclaim between callers that overlap (a build and the pulls it starts)', async () => {
    const root = newRoot();
    await leave(root, DEAD, 3);
    const [a, b] = await Promise.all([reclaimRoot(root), reclaimRoot(root)]);
    expect(a).toBe(b);
    expect(a.scratch).toBe(3);
  });

  it('costs a few directory reads when there is nothing to reclaim (and is measured with 100 dead entries)', async () => {
    const time = async (root: string): Promise<{ ms: number; result: ReclaimResult }> => {
      const started = process.hrtime.bigint();
      const result = await reclaimRoot(root);
      return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
    };
    const median = async (root: string): Promise<number> => {
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { ms, result } = await time(root);
        expect(result).toEqual(NOTHING);
        runs.push(ms);
      }
      return runs.sort((x, y) => x - y)[2] ?? 0;
    };
    const empty = await median(newRoot());
    const root = newRoot();
    // A root in use: live snapshots, cache records and a live lease, none of it stale.
    await leave(root, LIVE, 100);
    for (let i = 0; i < 2000; i++) writeFileSync(path.join(root, 'cache-index', `${i.toString(16).padStart(64, '0')}.json`), '{}');
    const busy = await median(root);
    await leave(root, DEAD, 100);
    leaveOrphans(root, 100);
    const stale = await time(root);
    expect(stale.result).toEqual({
      containers: 100,
      scratch: 100,
      snapshots: 100,
      orphans: 200,
      unrecorded: 0,
      ingest: 100,
      leases: 100,
      temporary: 200,
      tempDirs: 0,
    });
    console.log(
      `reclaim (medians of 5): an empty root ${empty.toFixed(1)} ms; a busy root, nothing stale ${busy.toFixed(1)} ms; 100 dead entries of each kind ${stale.ms.toFixed(0)} ms`,
    );
    expect([empty, busy].every((ms) => ms < 50)).toBe(true);
  });
});
