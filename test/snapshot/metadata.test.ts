/**
 * Snapshot metadata under crashes and damage. A kill between a snapshot's directory and its
 * record (either way round) leaves a directory no record names, which `removeOrphans` reclaims;
 * a removal never leaves a record naming a half-deleted tree. A damaged metadata file is set aside
 * with one warning, the records that can still be read are kept with their whole parent chains,
 * and the directories of the lost ones become orphans. No mounts: runs without root.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import type { SnapshotRecord } from '../../src/snapshot/metadata.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-snapshot-metadata-');

/** A snapshotter whose next removal fails after dropping the record, as a kill there would stop it. */
class InterruptedRemoval extends OverlaySnapshotter {
  interrupt = false;
  protected override async afterRemove(record: SnapshotRecord): Promise<void> {
    if (this.interrupt) throw new Error('killed');
    await super.afterRemove(record);
  }
}

const snapshotDirs = (root: string): string[] => readdirSync(path.join(root, 'snapshots')).filter((n) => /^[0-9a-f]{24}$/.test(n));

/** base ← mid ← top, and other beside them; returns the root, the warnings list and the ids. */
async function chain(): Promise<{ root: string; warnings: string[]; snaps: OverlaySnapshotter; ids: Record<string, string> }> {
  const root = tempDir();
  const warnings: string[] = [];
  const snaps = new OverlaySnapshotter(root, { warn: (w) => warnings.push(w) });
  for (const [name, parent] of [['base'], ['mid', 'base'], ['top', 'mid'], ['other']] as Array<[string, string?]>) {
    await snaps.prepare(`${name}-active`, parent);
    await snaps.commit(name, `${name}-active`);
  }
  const records = (JSON.parse(readFileSync(path.join(root, 'snapshots', 'metadata.json'), 'utf8')) as { snapshots: Record<string, SnapshotRecord> })
    .snapshots;
  return { root, warnings, snaps, ids: Object.fromEntries(Object.entries(records).map(([k, r]) => [k, r.id])) };
}

describe('snapshot metadata after a kill', () => {
  it('a removal stopped after its record is dropped leaves an orphan, never a record of a half-deleted tree', async () => {
    const root = tempDir();
    const snaps = new InterruptedRemoval(root);
    await snaps.prepare('a-active');
    await snaps.commit('a', 'a-active');
    const dir = path.dirname(await snaps.upperDir('a'));
    snaps.interrupt = true;
    await expect(snaps.remove('a')).rejects.toThrow('killed');
    expect(await snaps.list()).toEqual([]);
    expect(existsSync(dir)).toBe(true);
    expect(await snaps.removeOrphans()).toBe(1);
    expect([existsSync(dir), readdirSync(path.join(root, 'snapshots', 'l'))]).toEqual([false, []]);
  });

  it('a directory made but never recorded (a kill inside prepare) is reclaimed with its link; recorded ones stay', async () => {
    const root = tempDir();
    const snaps = new OverlaySnapshotter(root);
    await snaps.prepare('kept');
    const orphan = 'f'.repeat(24);
    mkdirSync(path.join(root, 'snapshots', orphan, 'fs'), { recursive: true });
    symlinkSync(path.join('..', orphan, 'fs'), path.join(root, 'snapshots', 'l', 'ORPHANLINK'));
    expect(await snaps.removeOrphans()).toBe(1);
    expect(snapshotDirs(root)).toEqual([path.basename(path.dirname(await snaps.upperDir('kept')))]);
    expect(readdirSync(path.join(root, 'snapshots', 'l'))).toHaveLength(1);
    expect(await snaps.removeOrphans()).toBe(0);
  });
});

describe('damaged snapshot metadata', () => {
  const file = (root: string): string => path.join(root, 'snapshots', 'metadata.json');
  it.each([
    {
      name: 'cut short inside "top"',
      damage: (text: string) => text.slice(0, text.indexOf('"top": {') + 40),
      reason: /^Unterminated string in JSON at position \d+$/,
      kept: ['base', 'mid'],
      // "other" is beyond the cut: nothing can name it.
      lost: ['top'],
    },
    {
      name: 'a flipped byte in the kind of "mid" (its child "top" goes with it)',
      damage: (text: string) => text.replace(/("mid": \{[^}]*"kind": )"committed"/, '$1"commitTed"'),
      reason: /^record "mid" is not what tsbuild writes$/,
      kept: ['base', 'other'],
      lost: ['mid', 'top'],
    },
    {
      name: 'an id that climbs out of the snapshot directory',
      damage: (text: string) => text.replace(/("other": \{[^}]*"id": )"[0-9a-f]{24}"/, '$1"../../../etc"'),
      reason: /^record "other" is not what tsbuild writes$/,
      kept: ['base', 'mid', 'top'],
      lost: ['other'],
    },
    {
      name: 'zeros where the file was (a crash before the data reached the disk)',
      damage: (text: string) => '\0'.repeat(text.length),
      reason: /^Unexpected token .*$/,
      kept: [],
      lost: [],
    },
    {
      name: 'a JSON array',
      damage: () => '[]\n',
      reason: /^not a version 1 file with "snapshots"$/,
      kept: [],
      lost: [],
    },
  ])('$name: set aside with one warning, the whole chains kept, the rest reclaimed', async ({ damage, reason, kept, lost }) => {
    const { root, warnings, snaps, ids } = await chain();
    const original = readFileSync(file(root), 'utf8');
    writeFileSync(file(root), damage(original));
    expect((await snaps.list()).map((s) => s.key).sort()).toEqual(kept);
    expect(warnings).toHaveLength(1);
    const [, reasonText, aside, keptCount, lostText] =
      /^the snapshot metadata (?:.*) is corrupt \((.*)\): set aside as (metadata\.json\.corrupt-[0-9TZ-]+); kept (\d+), (.*)$/.exec(
        warnings[0] ?? '',
      ) ?? [];
    expect(reasonText).toMatch(reason);
    expect(Number(keptCount)).toBe(kept.length);
    expect(lostText).toBe(
      lost.length === 0 ? 'no record lost' : `lost ${lost.join(', ')}; their directories will be reclaimed and the steps that made them run again`,
    );
    expect(readFileSync(path.join(root, 'snapshots', aside ?? ''), 'utf8')).toBe(damage(original));
    // The lost snapshots' directories are orphans now; the kept ones' stay.
    const gone = Object.entries(ids)
      .filter(([key]) => !kept.includes(key))
      .map(([, id]) => id)
      .sort();
    expect(await snaps.removeOrphans()).toBe(gone.length);
    expect(snapshotDirs(root).sort()).toEqual(kept.map((k) => ids[k]).sort());
    // The store keeps working: a new snapshot on a kept one (or on nothing).
    await snaps.prepare('next', kept[0]);
    expect(warnings).toHaveLength(1);
  });
});
