/**
 * Which commands reclaim first (docs/crash-safety.md, "Which commands reclaim"): `du`, `prune` and
 * `load` remove what a dead tsbuild left before they work, and say so in one progress message;
 * `images` only reads the index and leaves it for them. `build` and `pull` are shown through the
 * CLI (test/chaos/kill.test.ts, test/registry/pull.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressSink } from '../../src/progress/events.js';
import { listImages } from '../../src/verbs/images.js';
import { load } from '../../src/verbs/load.js';
import { pruneState, usage } from '../../src/verbs/maintenance.js';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-reclaim-commands-');
/** A tag no process can have: pids stop at 2^22. */
const DEAD = '2147483647.1';

/** A root holding what a killed build leaves most often: a scratch dir, a half blob, a lease. */
function rootLeftByADeadBuild(): string {
  const root = tempDir();
  mkdirSync(path.join(root, 'tmp', `exec-${DEAD}-0000`, 'rootfs'), { recursive: true });
  mkdirSync(path.join(root, 'ingest'));
  writeFileSync(path.join(root, 'ingest', `w-${DEAD}-0000`), 'half a blob');
  mkdirSync(path.join(root, 'leases'));
  writeFileSync(path.join(root, 'leases', `lease-${DEAD}-0000`), '{"created":0}\n');
  return root;
}

const left = (root: string): string[] => ['tmp', 'ingest', 'leases'].flatMap((d) => readdirSync(path.join(root, d)).map((n) => `${d}/${n}`));

async function archive(): Promise<string> {
  const dir = tempDir();
  await writeBusyboxLayout(path.join(dir, 'layout'), '1', ['linux/amd64']);
  execFileSync('tar', ['-cf', path.join(dir, 'image.tar'), '-C', path.join(dir, 'layout'), '.']);
  return path.join(dir, 'image.tar');
}

describe('commands that reclaim first', () => {
  it.each([
    { command: 'du', reclaims: true, run: (root: string, progress: ProgressSink) => usage({ root, progress }) },
    { command: 'prune', reclaims: true, run: (root: string, progress: ProgressSink) => pruneState({ root, progress }) },
    { command: 'load', reclaims: true, run: async (root: string, progress: ProgressSink) => load(await archive(), { root, progress }) },
    { command: 'images', reclaims: false, run: (root: string, progress: ProgressSink) => listImages({ root, progress }) },
  ])('$command: reclaims first: $reclaims', async ({ reclaims, run }) => {
    const root = rootLeftByADeadBuild();
    const messages: string[] = [];
    await run(root, { emit: (event) => void (event.type === 'message' && messages.push(event.text)) });
    if (reclaims) {
      expect(left(root)).toEqual([]);
      expect(messages).toContain('reclaimed what stopped tsbuild processes left: 1 scratch directory, 1 ingest file, 1 lease');
    } else {
      expect(left(root)).toEqual([`tmp/exec-${DEAD}-0000`, `ingest/w-${DEAD}-0000`, `leases/lease-${DEAD}-0000`]);
      expect(messages).toEqual([]);
    }
  });
});
