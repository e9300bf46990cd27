/**
 * `tsbuild pull REF`.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { pull, pullAllPlatforms } from '../verbs.js';
import { registriesFromFlags, type CliContext, type GlobalFlags } from '../context.js';
import { formatBytes, plainProgress } from '../render/plain.js';

/** Registers `pull`. */
export function registerPull(program: Command, context: CliContext): void {
  program
    .command('pull')
    .description('pull an image from a registry into the local store')
    .argument('<reference>', 'image reference, e.g. busybox:1.36 or localhost:5000/app@sha256:…')
    .option('--platform <os/arch>', 'the platform to pull (default: this machine)')
    .option('-a, --all-platforms', 'pull every platform of an image index (prints the index digest)')
    .option('-q, --quiet', 'print only the image digest')
    .action(async (reference: string, flags: { platform?: string; allPlatforms?: boolean; quiet?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalFlags>();
      if (flags.allPlatforms && flags.platform) throw new InvalidArgumentError('--platform and --all-platforms cannot be combined');
      const options = {
        ...(globals.root ? { root: globals.root } : {}),
        ...(globals.registriesConfig ? { registriesConfig: globals.registriesConfig } : {}),
        registries: registriesFromFlags(globals),
        signal: context.signal,
        ...(flags.quiet ? {} : { progress: plainProgress() }),
      };
      const all = flags.allPlatforms
        ? await pullAllPlatforms(reference, options)
        : await pull(reference, { ...options, ...(flags.platform ? { platform: flags.platform } : {}) }).then((r) => ({
            name: r.name,
            digest: r.digest,
            platforms: [r],
          }));
      if (!flags.quiet) {
        for (const result of all.platforms) {
          const reused = result.layers - result.downloaded;
          const which = flags.allPlatforms ? ` (${result.platform})` : '';
          process.stderr.write(
            `${result.name}${which}: ${result.layers} layers, ${result.downloaded} pulled (${formatBytes(result.downloadedBytes)}), ${reused} already stored\n`,
          );
        }
      }
      process.stdout.write(`${all.digest}\n`);
    });
}
