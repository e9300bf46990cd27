/**
 * Picks the snapshotter for a state root: overlay where it mounts, the copying fallback otherwise,
 * saying so once (through `notice`). The choice is probed once (a test mount) and recorded in the
 * root (`snapshotter`), so later builds skip the probe and a root never mixes the kinds. In a user
 * namespace (a rootless build) overlay is mounted with `userxattr` (`overlay-userxattr`): an upper
 * dir written that way marks opaque directories differently, so it is a kind of its own.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readTextIfExists } from '../util/absent.js';
import { inUserNamespace } from '../util/user-namespace.js';
import { CopyingSnapshotter } from './copying.js';
import { overlaySupported } from './overlay-probe.js';
import type { ManagedSnapshotter } from './snapshotter.js';
import { OverlaySnapshotter } from './overlay.js';

const KINDS = ['overlay', 'overlay-userxattr', 'copying'] as const;
type Kind = (typeof KINDS)[number];

export async function selectSnapshotter(root: string, notice: (message: string) => void = () => undefined): Promise<ManagedSnapshotter> {
  const record = path.join(root, 'snapshotter');
  const recorded = ((await readTextIfExists(record)) ?? '').trim();
  const kind = KINDS.includes(recorded as Kind) ? (recorded as Kind) : await probe(root);
  if (kind !== recorded) {
    await mkdir(root, { recursive: true });
    await writeFileAtomic(record, `${kind}\n`);
  }
  if (kind !== 'copying') return new OverlaySnapshotter(root, { userXattr: kind === 'overlay-userxattr' });
  notice(`overlayfs is not available under ${root}: using the copying snapshotter (slower, more disk)`);
  return new CopyingSnapshotter(root);
}

async function probe(root: string): Promise<Kind> {
  const userXattr = inUserNamespace();
  if (await overlaySupported(root, userXattr)) return userXattr ? 'overlay-userxattr' : 'overlay';
  return 'copying';
}
