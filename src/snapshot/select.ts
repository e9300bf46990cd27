/**
 * Picks the snapshotter for a state root: overlay where it mounts, else, in a user namespace,
 * fuse-overlayfs where that mounts (Linux before 5.11), else the copying fallback, saying so once
 * (through `notice`). The choice is probed once (a test mount) and recorded in the root
 * (`snapshotter`), so later builds skip the probe and a root never mixes the kinds. In a user
 * namespace (a rootless build) overlay is mounted with `userxattr` (`overlay-userxattr`): an upper
 * dir written that way marks opaque directories differently, so it is a kind of its own, as is
 * `fuse-overlayfs`. `TSBUILD_SNAPSHOTTER` names the kind a new root takes instead of the probe's
 * (for tests, and for a machine where the probe's pick is not wanted); a root keeps its kind.
 * `warn` hears of a damaged metadata file (set aside, `snapshot/metadata.ts`).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readTextIfExists } from '../util/absent.js';
import type { Warn } from '../util/set-aside.js';
import { inUserNamespace } from '../util/user-namespace.js';
import { CopyingSnapshotter } from './copying.js';
import { InvalidArgumentError, TsbuildError, UnavailableError } from '../errors.js';
import { fuseOverlaySupported, overlaySupported } from './overlay-probe.js';
import type { ManagedSnapshotter } from './snapshotter.js';
import { OverlaySnapshotter } from './overlay.js';

const KINDS = ['overlay', 'overlay-userxattr', 'fuse-overlayfs', 'copying'] as const;
type Kind = (typeof KINDS)[number];

async function recordedKind(root: string): Promise<{ kind: Kind | undefined; recorded: string }> {
  const recorded = ((await readTextIfExists(path.join(root, 'snapshotter'))) ?? '').trim();
  return { kind: KINDS.includes(recorded as Kind) ? (recorded as Kind) : undefined, recorded };
}

function snapshotterOf(kind: Kind, root: string, warn: Warn | undefined): ManagedSnapshotter {
  if (kind === 'copying') return new CopyingSnapshotter(root, warn);
  return new OverlaySnapshotter(root, { userXattr: kind === 'overlay-userxattr', fuse: kind === 'fuse-overlayfs', ...(warn ? { warn } : {}) });
}

/**
 * The snapshotter a root has used, without probing: undefined on a root where no build has chosen
 * one yet (it then holds no snapshots). For commands that only clean up (a pull's reclaim).
 */
export async function recordedSnapshotter(root: string, warn?: Warn): Promise<ManagedSnapshotter | undefined> {
  const { kind } = await recordedKind(root);
  return kind === undefined ? undefined : snapshotterOf(kind, root, warn);
}

export async function selectSnapshotter(
  root: string,
  notice: (message: string) => void = () => undefined,
  warn?: Warn,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ManagedSnapshotter> {
  const { kind: known, recorded } = await recordedKind(root);
  const wanted = chosenKind(env);
  if (wanted !== undefined && known !== undefined && wanted !== known) {
    throw new InvalidArgumentError(`TSBUILD_SNAPSHOTTER=${wanted}, but the state root ${root} uses the ${known} snapshotter`, {
      hint: 'a root keeps the kind it started with: give another --root, or unset TSBUILD_SNAPSHOTTER',
    });
  }
  const kind = known ?? (wanted !== undefined ? await checked(root, wanted) : await probe(root));
  if (kind !== recorded) {
    await mkdir(root, { recursive: true });
    await writeFileAtomic(path.join(root, 'snapshotter'), `${kind}\n`);
  }
  if (kind === 'copying' && wanted === undefined) {
    const tried = inUserNamespace() ? 'overlayfs and fuse-overlayfs are' : 'overlayfs is';
    notice(`${tried} not available under ${root}: using the copying snapshotter (slower, more disk)`);
  }
  return snapshotterOf(kind, root, warn);
}

async function probe(root: string): Promise<Kind> {
  const userXattr = inUserNamespace();
  if (await overlaySupported(root, userXattr)) return userXattr ? 'overlay-userxattr' : 'overlay';
  // Root has overlayfs wherever fuse-overlayfs would help (a root on an overlay excepted, where the
  // copying snapshotter stays root's choice unless TSBUILD_SNAPSHOTTER says otherwise).
  if (userXattr && (await fuseOverlaySupported(root))) return 'fuse-overlayfs';
  return 'copying';
}

/** The kind `TSBUILD_SNAPSHOTTER` asks for (`overlay` is overlay-userxattr in a user namespace). */
function chosenKind(env: NodeJS.ProcessEnv): Kind | undefined {
  const value = env.TSBUILD_SNAPSHOTTER;
  if (value === undefined || value === '') return undefined;
  if (value === 'overlay') return inUserNamespace() ? 'overlay-userxattr' : 'overlay';
  if (value === 'fuse-overlayfs' || value === 'copying') return value;
  throw new InvalidArgumentError(`unknown TSBUILD_SNAPSHOTTER "${value}"`, { hint: 'use overlay, fuse-overlayfs or copying' });
}

/** `kind` for a new root, when it works here. */
async function checked(root: string, kind: Kind): Promise<Kind> {
  let why: Error | undefined;
  const works =
    kind === 'copying' ||
    (kind === 'fuse-overlayfs'
      ? await fuseOverlaySupported(root, (reason) => (why = reason))
      : await overlaySupported(root, kind === 'overlay-userxattr'));
  if (!works) {
    const cause: Error | undefined = why;
    const hint = cause instanceof TsbuildError ? cause.hint : undefined;
    throw new UnavailableError(
      `TSBUILD_SNAPSHOTTER=${kind}: it does not mount under ${root}${cause ? `: ${cause.message}` : ''}`,
      hint ? { hint } : {},
    );
  }
  return kind;
}
