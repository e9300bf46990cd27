/**
 * Asking ext2/3/4 to place each new subdirectory of a directory the way it places new directories
 * at the top of the file system (the `T` attribute, `chattr +T`): in a block group of its own
 * choosing, not beside its parent.
 *
 * Why: an ext4 without a journal does not hand out an inode that was freed in the last minute (six
 * while its inode-table block is still unwritten); it checks every such free inode of the group
 * first, each time. After a few thousand files were removed in a group (`prune`, a removed state
 * root, a context copy), every file created there scans past all of them: 2,000 small files took
 * 1.3-1.6 s to create instead of 50 ms on this machine. A snapshot's directory that lands in another
 * group creates its files at full speed. Ext4 with a journal, and other file systems, never scan;
 * there the attribute only spreads directories over the disk, or cannot be set.
 *
 * Best effort: a file system without the attribute, or no `chattr`, leaves the directory as it is.
 */
import { mkdir } from 'node:fs/promises';
import { runTool } from './tool-runner.js';

/** Creates `dir` (and its parents) if missing; a directory it created gets the `T` attribute. */
export async function makeSpreadingDirectory(dir: string): Promise<void> {
  if ((await mkdir(dir, { recursive: true })) === undefined) return;
  // Its status is not looked at: a file system without the attribute (tmpfs, xfs, btrfs) or a
  // machine without e2fsprogs keeps the directory as it is.
  await runTool('chattr', ['+T', dir]);
}
