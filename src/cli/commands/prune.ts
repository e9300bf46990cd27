/**
 * `tsbuild du` and `tsbuild prune [--all]`.
 */
import type { Command } from 'commander';
import { pruneState, usage } from '../../index.js';
import { messagesOnStderr, type GlobalFlags } from '../context.js';
import { formatBytes } from '../render/plain.js';

export function registerPrune(program: Command): void {
  program
    .command('du')
    .description('show what the state directory holds')
    .action(async (_flags: unknown, command: Command) => {
      const root = command.optsWithGlobals<GlobalFlags>().root;
      const u = await usage({ ...(root ? { root } : {}), progress: messagesOnStderr });
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
        progress: messagesOnStderr,
      });
      const held = r.skipped.snapshots + r.skipped.blobs;
      const kept = held > 0 ? `; kept ${r.skipped.snapshots} snapshots and ${r.skipped.blobs} blobs that running builds use` : '';
      const corrupt = r.corrupt > 0 ? `; removed ${r.corrupt} damaged manifests (pull or build those images again)` : '';
      process.stdout.write(
        `removed ${r.cacheRecords} cache records, ${r.snapshots} snapshots, ${r.blobs} blobs (${formatBytes(r.bytes)})${kept}${corrupt}\n`,
      );
    });
}
