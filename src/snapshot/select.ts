/**
 * Picks the snapshotter for a state root: overlay where it mounts, the copying fallback otherwise,
 * saying so once (through `notice`). The choice is probed once (a test mount) and recorded in the
 * root (`snapshotter`), so later builds skip the probe and a root never mixes the kinds. In a user
 * namespace (a rootless build) overlay is mounted with `userxattr` (`overlay-userxattr`): an upper
 * dir written that way marks opaque directories differently, so it is a kind of its own.
 * `warn` hears of a damaged metadata file (set aside, `snapshot/metadata.ts`).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readTextIfExists } from '../util/absent.js';
import type { Warn } from '../util/set-aside.js';
import { inUserNamespace } from '../util/user-namespace.js';
import { CopyingSnapshotter } from './copying.js';
import { overlaySupported } from './overlay-probe.js';
import type { ManagedSnapshotter } from './snapshotter.js';
import { OverlaySnapshotter } from './overlay.js';

const KINDS = ['overlay', 'overlay-userxattr', 'copying'] as const;
type Kind = (typeof KINDS)[number];

async function recordedKind(root: string): Promise<{ kind: Kind | undefined; recorded: string }> {
  const recorded = ((await readTextIfExists(path.join(root, 'snapshotter'))) ?? '').trim();
  return { kind: KINDS.includes(recorded as Kind) ? (recorded as Kind) : undefined, recorded };
}

function snapshotterOf(kind: Kind, root: string, warn: Warn | undefined): ManagedSnapshotter {
  if (kind === 'copying') return new CopyingSnapshotter(root, warn);
  return new OverlaySnapshotter(root, { userXattr: kind === 'overlay-userxattr', ...(warn ? { warn } : {}) });
}

/**
 * The snapshotter a root has used, without probing: undefined on a root where no build has chosen
 * one yet (it then holds no snapshots). For commands that only clean up (a pull's reclaim).
 */
export async function recordedSnapshotter(root: string, warn?: Warn): Promise<ManagedSnapshotter | undefined> {
  const { kind } = await recordedKind(root);
  return kind === undefined ? undefined : snapshotterOf(kind, root, warn);
}

export async function selectSnapshotter(root: string, notice: (message: string) => void = () => undefined, warn?: Warn): Promise<ManagedSnapshotter> {
  const { kind: known, recorded } = await recordedKind(root);
  const kind = known ?? (await probe(root));
  if (kind !== recorded) {
    await mkdir(root, { recursive: true });
    await writeFileAtomic(path.join(root, 'snapshotter'), `${kind}\n`);
  }
  if (kind === 'copying') notice(`overlayfs is not available under ${root}: using the copying snapshotter (slower, more disk)`);
  return snapshotterOf(kind, root, warn);
}

async function probe(root: string): Promise<Kind> {
  const userXattr = inUserNamespace();
  if (await overlaySupported(root, userXattr)) return userXattr ? 'overlay-userxattr' : 'overlay';
  return 'copying';
}
