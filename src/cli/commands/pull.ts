/**
 * `tsbuild pull REF` and `tsbuild images`.
 */
import type { Command } from 'commander';
import { ImageIndex, pull, stateRoot } from '../../index.js';
import { registriesFromFlags, type CliContext, type GlobalFlags } from '../context.js';
import { formatBytes, plainProgress } from '../render/plain.js';

/** Registers `pull` and `images`. */
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
        process.stderr.write(`${result.name}: ${result.layers} layers, ${result.downloaded} pulled (${formatBytes(result.downloadedBytes)}), ${reused} already stored\n`);
      }
      process.stdout.write(`${result.digest}\n`);
    });

  program
    .command('images')
    .description('list the images in the local store')
    .option('-q, --quiet', 'print only image ids')
    .action(async (flags: { quiet?: boolean }, command: Command) => {
      const images = await new ImageIndex(stateRoot(command.optsWithGlobals<GlobalFlags>().root)).list();
      if (flags.quiet) {
        for (const image of images) process.stdout.write(`${image.config.slice(7, 19)}\n`);
        return;
      }
      const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
      for (const image of images) {
        const [repository, tag] = splitName(image.name);
        rows.push([repository, tag, image.config.slice(7, 19), image.created ? ago(image.created) : 'N/A', formatBytes(image.size)]);
      }
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      for (const row of rows) process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('')}\n`);
    });
}

/** `docker.io/library/busybox:1.36` → [`busybox`, `1.36`]. */
function splitName(name: string): [string, string] {
  const at = name.indexOf('@');
  const base = at < 0 ? name : name.slice(0, at);
  const colon = base.lastIndexOf(':');
  const hasTag = colon > base.lastIndexOf('/');
  const repo = hasTag ? base.slice(0, colon) : base;
  const short = repo.startsWith('docker.io/library/') ? repo.slice(18) : repo.startsWith('docker.io/') ? repo.slice(10) : repo;
  return [short, hasTag ? base.slice(colon + 1) : '<none>'];
}

function ago(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  const steps: Array<[number, string]> = [[31536000, 'year'], [2592000, 'month'], [604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, unit] of steps) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${unit}${n > 1 ? 's' : ''} ago`;
  }
  return 'less than a minute ago';
}
