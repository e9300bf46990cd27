/**
 * `tsbuild du` and `tsbuild prune [--all]`.
 */
import type { Command } from 'commander';
import { pruneState, usage } from '../../index.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { ranInUserNamespace } from '../rootless.js';
import { formatBytes } from '../render/plain.js';

export function registerPrune(program: Command, cli: CliContext): void {
  program
    .command('du')
    .description('show what the state directory holds')
    .action(async (_flags: unknown, command: Command) => {
      const root = command.optsWithGlobals<GlobalFlags>().root;
      // Snapshots hold files of the user's subordinate ids: only the user namespace can read them.
      if (await ranInUserNamespace(cli, root)) return;
      const u = await usage(root ? { root } : {});
      process.stdout.write(
        `blobs: ${u.blobs.count} (${formatBytes(u.blobs.bytes)})\nsnapshots: ${u.snapshots.count} (${formatBytes(u.snapshots.bytes)}, ${u.snapshots.kind})\ncache records: ${u.cacheRecords}\n`,
      );
    });
  program
    .command('prune')
    .description('remove what no image or cache record needs (--all: the build cache too)')
    .option('--all', 'also remove the build cache')
    .action(async (flags: { all?: boolean }, command: Command) => {
      if (await ranInUserNamespace(cli, command.optsWithGlobals<GlobalFlags>().root)) return;
      const r = await pruneState({
        ...(command.optsWithGlobals<GlobalFlags>().root ? { root: command.optsWithGlobals<GlobalFlags>().root } : {}),
        all: flags.all === true,
      });
      const held = r.skipped.snapshots + r.skipped.blobs;
      const kept = held > 0 ? `; kept ${r.skipped.snapshots} snapshots and ${r.skipped.blobs} blobs that running builds use` : '';
      process.stdout.write(`removed ${r.cacheRecords} cache records, ${r.snapshots} snapshots, ${r.blobs} blobs (${formatBytes(r.bytes)})${kept}\n`);
    });
}
