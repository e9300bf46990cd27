/**
 * Whether overlayfs, or fuse-overlayfs, works under a state root: a test mount, made once per root
 * (`select.ts` records the answer).
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { mountFuseOverlay } from '../util/fuse-overlayfs.js';
import { makeScratch } from '../util/scratch.js';
import { runTool, runToolChecked } from '../util/tool-runner.js';

/**
 * True when an overlay mount works under `root` (the kernel has it and the filesystem allows it);
 * `userXattr`: mounted as a user namespace must mount it (Linux 5.11 and later).
 */
export async function overlaySupported(root: string, userXattr = false): Promise<boolean> {
  await mkdir(root, { recursive: true });
  // A scratch directory (named after this process), so a probe killed while mounted is reclaimed.
  const dir = await makeScratch(root, 'overlaycheck');
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(path.join(dir, d));
    if (
      (
        await runTool('mount', [
          '-t',
          'overlay',
          'overlay',
          '-o',
          `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work${userXattr ? ',userxattr' : ''}`,
          `${dir}/merged`,
        ])
      ).code !== 0
    )
      return false;
    await runToolChecked('umount', [`${dir}/merged`]);
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * True when fuse-overlayfs mounts under `root` (installed, /dev/fuse open to this user, the
 * kernel's FUSE); `why` hears the reason when not.
 */
export async function fuseOverlaySupported(root: string, why: (reason: Error) => void = () => undefined): Promise<boolean> {
  await mkdir(root, { recursive: true });
  const dir = await makeScratch(root, 'fusecheck');
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(path.join(dir, d));
    try {
      await mountFuseOverlay([`lowerdir=${dir}/lower`, `upperdir=${dir}/upper`, `workdir=${dir}/work`], `${dir}/merged`);
    } catch (err) {
      why(err as Error);
      return false;
    }
    await runToolChecked('umount', [`${dir}/merged`]);
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
