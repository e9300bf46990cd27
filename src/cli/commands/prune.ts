/**
 * `tsbuild du` and `tsbuild prune [--all]`.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { pruneState, usage } from '../verbs.js';
import { messagesOnStderr, type CliContext, type GlobalFlags } from '../context.js';
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
      const u = await usage({ ...(root ? { root } : {}), progress: messagesOnStderr });
      const mountBytes = u.cacheMounts.reduce((sum, m) => sum + m.bytes, 0);
      process.stdout.write(
        `blobs: ${u.blobs.count} (${formatBytes(u.blobs.bytes)})\nsnapshots: ${u.snapshots.count} (${formatBytes(u.snapshots.bytes)}, ${u.snapshots.kind})\ncache records: ${u.cacheRecords}\n` +
          `cache mounts: ${u.cacheMounts.length} (${formatBytes(mountBytes)})\n`,
      );
      // Each RUN cache mount as buildx du lists it: type, size, last use.
      for (const m of u.cacheMounts) process.stdout.write(`  exec.cachemount  ${formatBytes(m.bytes).padEnd(8)}  last used ${m.lastUsed}  ${m.id}\n`);
    });
  program
    .command('prune')
    .description('remove what no image or cache record needs (--all: the build cache too)')
    .option('--all', 'also remove the build cache and RUN cache mounts')
    .option('--filter <filter>', 'only type=exec.cachemount: remove only the RUN cache mounts')
    .action(async (flags: { all?: boolean; filter?: string }, command: Command) => {
      if (flags.filter !== undefined && flags.filter !== 'type=exec.cachemount')
        throw new InvalidArgumentError(`unsupported --filter "${flags.filter}"`, { hint: 'use --filter type=exec.cachemount' });
      if (await ranInUserNamespace(cli, command.optsWithGlobals<GlobalFlags>().root)) return;
      const r = await pruneState({
        ...(command.optsWithGlobals<GlobalFlags>().root ? { root: command.optsWithGlobals<GlobalFlags>().root } : {}),
        all: flags.all === true,
        ...(flags.filter ? { only: 'exec.cachemount' as const } : {}),
        progress: messagesOnStderr,
      });
      const held = r.skipped.cacheRecords + r.skipped.snapshots + r.skipped.blobs;
      const kept =
        held > 0
          ? `; kept ${r.skipped.cacheRecords} cache records, ${r.skipped.snapshots} snapshots and ${r.skipped.blobs} blobs that running builds use`
          : '';
      const mounts = r.skippedCacheMounts > 0 ? `; kept ${r.skippedCacheMounts} cache mounts while builds run` : '';
      const files = r.contextFiles > 0 ? `; removed ${r.contextFiles} copies of context files no snapshot uses` : '';
      const corrupt = r.corrupt > 0 ? `; removed ${r.corrupt} damaged manifests (pull or build those images again)` : '';
      process.stdout.write(
        `removed ${r.cacheRecords} cache records, ${r.snapshots} snapshots, ${r.blobs} blobs, ${r.cacheMounts} cache mounts (${formatBytes(r.bytes)})${kept}${mounts}${files}${corrupt}\n`,
      );
    });
}
