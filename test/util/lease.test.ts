/**
 * Leases as files (`util/lease.ts`): what `Lease.add` writes, line by line; what `liveLeases`
 * reads back from the live ones (and the dead ones it removes on the way); a closed lease is gone
 * and takes nothing more.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lease, liveLeases } from '../../src/util/lease.js';
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
});
