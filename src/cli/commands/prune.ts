/**
 * `tsbuild du` and `tsbuild prune [--all]`.
 */
import type { Command } from 'commander';
import { describeReclaimed, pruneState, reclaimedCount, usage } from '../../index.js';
import { warnOnStderr, type GlobalFlags } from '../context.js';
import { formatBytes } from '../render/plain.js';

export function registerPrune(program: Command): void {
  program
    .command('du')
    .description('show what the state directory holds')
    .action(async (_flags: unknown, command: Command) => {
      const u = await usage(command.optsWithGlobals<GlobalFlags>().root, { warn: warnOnStderr });
      process.stdout.write(
        `blobs: ${u.blobs.count} (${formatBytes(u.blobs.bytes)})\nsnapshots: ${u.snapshots.count} (${formatBytes(u.snapshots.bytes)})\ncache records: ${u.cacheRecords}\n`,
      );
    });
  program
    .command('prune')
    .description('remove what no image or cache record needs (--all: the build cache too)')
    .option('--all', 'also remove the build cache')
    .action(async (flags: { all?: boolean }, command: Command) => {
      const r = await pruneState({
        ...(command.optsWithGlobals<GlobalFlags>().root ? { root: command.optsWithGlobals<GlobalFlags>().root } : {}),
        all: flags.all === true,
        warn: warnOnStderr,
      });
      if (reclaimedCount(r.reclaimed) > 0) process.stderr.write(`${describeReclaimed(r.reclaimed)}\n`);
      const held = r.skipped.snapshots + r.skipped.blobs;
      const kept = held > 0 ? `; kept ${r.skipped.snapshots} snapshots and ${r.skipped.blobs} blobs that running builds use` : '';
      const corrupt = r.corrupt > 0 ? `; removed ${r.corrupt} damaged manifests (pull or build those images again)` : '';
      process.stdout.write(
        `removed ${r.cacheRecords} cache records, ${r.snapshots} snapshots, ${r.blobs} blobs (${formatBytes(r.bytes)})${kept}${corrupt}\n`,
      );
    });
}
