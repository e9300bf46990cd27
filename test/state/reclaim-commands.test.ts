/**
 * Which commands reclaim first (docs/crash-safety.md, "Which commands reclaim"): `du`, `prune` and
 * `load` remove what a dead tsbuild left before they work, and say so in one progress message;
 * `images` only reads the index and leaves it for them. `build` and `pull` are shown through the
 * CLI (test/chaos/kill.test.ts, test/registry/pull.test.ts). The directories tsbuild makes in the
 * system temp dir (the tool runner's, the ssh forwarder's) go too, when their owner is dead, and
 * only those of the user running the command.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressSink } from '../../src/progress/events.js';
import { listImages } from '../../src/verbs/images.js';
import { load } from '../../src/verbs/load.js';
import { pruneState, usage } from '../../src/verbs/maintenance.js';
import { ownerTag } from '../../src/util/owner.js';
import { tsbuild } from '../helpers/cli.js';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { isRoot } from '../helpers/root.js';
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

describe.skipIf(!isRoot)('the system temp dir', () => {
  it('du removes a dead tsbuild’s tool and ssh directories, and nothing else', () => {
    const tmp = tempDir();
    const elsewhere = tempDir();
    const dir = (name: string, owner?: number): string => {
      mkdirSync(path.join(tmp, name));
      writeFileSync(path.join(tmp, name, 'content'), 'x');
      if (owner !== undefined) chownSync(path.join(tmp, name), owner, owner);
      return name;
    };
    const removed = [dir(`tsbuild-tools-${DEAD}-00aa`), dir(`tsbuild-ssh-${DEAD}-00bb`)];
    const kept = [
      dir(`tsbuild-tools-${ownerTag()}-00cc`), // this process's: alive
      dir('tsbuild-tools-Ab12Cd'), // an older tsbuild's (mkdtemp) name: no owner to check
      dir(`tsbuild-ssh-${DEAD}-00dd`, 65534), // another user's
      dir(`tsbuild-cache-${DEAD}-00ee`), // not a kind tsbuild makes
    ];
    writeFileSync(path.join(tmp, `tsbuild-tools-${DEAD}-00ff`), 'a file, not a directory');
    symlinkSync(elsewhere, path.join(tmp, `tsbuild-ssh-${DEAD}-0011`));
    writeFileSync(path.join(elsewhere, 'precious'), 'kept');
    kept.push(`tsbuild-tools-${DEAD}-00ff`, `tsbuild-ssh-${DEAD}-0011`);

    const result = tsbuild(['--root', tempDir(), 'du'], { env: { TMPDIR: tmp }, timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('reclaimed what stopped tsbuild processes left: 2 temporary directories\n');
    expect([...removed, ...kept].filter((name) => existsSync(path.join(tmp, name)))).toEqual(kept);
    expect(readdirSync(elsewhere)).toEqual(['precious']);
  });
});
