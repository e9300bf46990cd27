/**
 * Leases as files (`util/lease.ts`): what `Lease.add` writes, line by line; what `liveLeases`
 * reads back from the live ones (and the dead ones it removes on the way); a closed lease is gone
 * and takes nothing more. The step snapshots a lease names as pending reach whoever removes a dead
 * holder's lease, which stays while nobody could deal with them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lease, liveLeases, removeDeadLeases, type PendingStep } from '../../src/util/lease.js';
import { ownerTag } from '../../src/util/owner.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-lease-');
/** A tag no process can have: pids stop at 2^22. */
const DEAD = '2147483647.1';
const BLOB_A = `sha256:${'a'.repeat(64)}`;
const BLOB_B = `sha256:${'b'.repeat(64)}`;
const RECORD = 'c'.repeat(64);

/** The one lease file in `root`. */
function leaseFile(root: string): string {
  const names = readdirSync(path.join(root, 'leases'));
  expect(names).toHaveLength(1);
  expect(names[0]).toMatch(new RegExp(`^lease-${ownerTag().replace('.', '\\.')}-[0-9a-f]{12}$`));
  return path.join(root, 'leases', names[0] as string);
}

describe('Lease', () => {
  it('add appends one line per blob, snapshot and cache record after the header, in that order', async () => {
    const root = tempDir();
    const before = Date.now();
    const lease = await Lease.take(root);
    await lease.add({ blobs: [BLOB_A], snapshots: ['step-1'], records: [RECORD] });
    await lease.add({});
    await lease.add({ records: [], snapshots: ['step-2', 'step-3'], blobs: [BLOB_B] });
    const [header = '', ...lines] = readFileSync(leaseFile(root), 'utf8').split('\n');
    const created = (JSON.parse(header) as { created: number }).created;
    expect(created).toBeGreaterThanOrEqual(before);
    expect(created).toBeLessThanOrEqual(Date.now());
    expect(lines).toEqual([`blob ${BLOB_A}`, 'snapshot step-1', `record ${RECORD}`, `blob ${BLOB_B}`, 'snapshot step-2', 'snapshot step-3', '']);
    // What the lease holds, as prune reads it; protected from 2 s before it was taken.
    expect(await liveLeases(root)).toEqual({
      blobs: new Set([BLOB_A, BLOB_B]),
      snapshots: new Set(['step-1', 'step-2', 'step-3']),
      records: new Set([RECORD]),
      since: created - 2000,
    });
    await lease.close();
    expect(readdirSync(path.join(root, 'leases'))).toEqual([]);
    // A closed lease takes nothing more (and writes no file back).
    await lease.add({ blobs: [BLOB_A] });
    expect(readdirSync(path.join(root, 'leases'))).toEqual([]);
  });

  it('liveLeases ignores and removes a dead holder’s lease', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'leases'));
    const dead = path.join(root, 'leases', `lease-${DEAD}-000000000000`);
    writeFileSync(dead, `{"created":1}\nblob ${BLOB_A}\nrecord ${RECORD}\n`);
    expect(await liveLeases(root)).toEqual({ blobs: new Set(), snapshots: new Set(), records: new Set(), since: undefined });
    expect(existsSync(dead)).toBe(false);
  });

  it('pending names a step snapshot in the file and in memory; prune does not read it as held', async () => {
    const root = tempDir();
    const lease = await Lease.take(root);
    const steps: PendingStep[] = [
      { key: BLOB_A, snapshot: 'step-aaaa-0001' },
      { key: BLOB_B, snapshot: 'step-bbbb-0002' },
    ];
    for (const step of steps) await lease.pending(step);
    await lease.add({ snapshots: ['step-1'] });
    expect(readFileSync(leaseFile(root), 'utf8').split('\n').slice(1)).toEqual([
      `pending ${BLOB_A} step-aaaa-0001`,
      `pending ${BLOB_B} step-bbbb-0002`,
      'snapshot step-1',
      '',
    ]);
    expect(lease.pendingSteps()).toEqual(steps);
    expect((await liveLeases(root)).snapshots).toEqual(new Set(['step-1']));
    await lease.close();
  });

  it.each([
    { case: 'no pending lines: removed without asking', text: `{"created":1}\nblob ${BLOB_A}\n`, settles: undefined, given: [], left: 0 },
    {
      case: 'pending lines, settled: removed after',
      text: `{"created":1}\npending ${BLOB_A} step-a-1\nsnapshot step-x\npending ${BLOB_B} step-b-2\npending broken\n`,
      settles: true,
      given: [
        { key: BLOB_A, snapshot: 'step-a-1' },
        { key: BLOB_B, snapshot: 'step-b-2' },
      ],
      left: 0,
    },
    {
      case: 'pending lines, not settled: kept',
      text: `{"created":1}\npending ${BLOB_A} step-a-1\n`,
      settles: false,
      given: [{ key: BLOB_A, snapshot: 'step-a-1' }],
      left: 1,
    },
    {
      case: 'pending lines, no one to settle them: kept',
      text: `{"created":1}\npending ${BLOB_A} step-a-1\n`,
      settles: undefined,
      given: [],
      left: 1,
    },
  ])('removeDeadLeases with a dead lease, $case', async ({ text, settles, given, left }) => {
    const root = tempDir();
    mkdirSync(path.join(root, 'leases'));
    writeFileSync(path.join(root, 'leases', `lease-${DEAD}-000000000000`), text);
    const live = await Lease.take(root);
    await live.pending({ key: BLOB_A, snapshot: 'step-live-1' });
    const asked: PendingStep[][] = [];
    const settle =
      settles === undefined
        ? undefined
        : async (pending: PendingStep[]): Promise<boolean> => {
            asked.push(pending);
            return settles;
          };
    expect(await removeDeadLeases(root, settle)).toBe(1 - left);
    expect(asked.flat()).toEqual(given);
    expect(readdirSync(path.join(root, 'leases')).filter((n) => n.includes(DEAD))).toHaveLength(left);
    // A live lease is never given to settle, nor removed.
    expect(readdirSync(path.join(root, 'leases')).filter((n) => n.includes(ownerTag()))).toHaveLength(1);
    // liveLeases leaves a dead lease alone when asked to.
    if (left === 1) {
      await liveLeases(root, { keepDead: true });
      expect(readdirSync(path.join(root, 'leases'))).toHaveLength(2);
    }
    await live.close();
  });
});
