/**
 * `tsbuild pull REF`.
 */
import type { Command } from 'commander';
import { pull } from '../../index.js';
import { registriesFromFlags, type CliContext, type GlobalFlags } from '../context.js';
import { formatBytes, plainProgress } from '../render/plain.js';

/** Registers `pull`. */
export function registerPull(program: Command, context: CliContext): void {
  program
    .command('pull')
    .description('pull an image from a registry into the local store')
    .argument('<reference>', 'image reference, e.g. busybox:1.36 or localhost:5000/app@sha256:…')
    .option('--platform <os/arch>', 'the platform to pull (default: this machine)')
    .option('-q, --quiet', 'print only the image digest')
    .action(async (reference: string, flags: { platform?: string; quiet?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalFlags>();
      const result = await pull(reference, {
        ...(globals.root ? { root: globals.root } : {}),
        ...(globals.registriesConfig ? { registriesConfig: globals.registriesConfig } : {}),
        ...(flags.platform ? { platform: flags.platform } : {}),
        registries: registriesFromFlags(globals),
        signal: context.signal,
        ...(flags.quiet ? {} : { progress: plainProgress() }),
      });
      if (!flags.quiet) {
        const reused = result.layers - result.downloaded;
        process.stderr.write(
          `${result.name}: ${result.layers} layers, ${result.downloaded} pulled (${formatBytes(result.downloadedBytes)}), ${reused} already stored\n`,
        );
      }
      process.stdout.write(`${result.digest}\n`);
    });
}
