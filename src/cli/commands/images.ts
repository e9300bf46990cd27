/**
 * The local image store: `images`, `tag`, `rmi`, `inspect`, `history`, `save`, `load` and `push`.
 */
import type { Command } from 'commander';
import type { ProgressSink } from '../../index.js';
import { InvalidArgumentError } from '../../errors.js';
import { imageHistory, inspectImage, listImages, load, push, removeImage, saveImages, tagImage } from '../verbs.js';
import { messagesOnStderr, registriesFromFlags, type CliContext, type GlobalFlags } from '../context.js';
import { formatBytes, plainProgress } from '../render/plain.js';

/** Registers the image-store commands. */
export function registerImages(program: Command, context: CliContext): void {
  // The state root, and stderr for what the store has to say (a damaged index set aside).
  const rootOf = (command: Command): { root?: string; progress: ProgressSink } => {
    const root = command.optsWithGlobals<GlobalFlags>().root;
    return { ...(root ? { root } : {}), progress: messagesOnStderr };
  };
  program
    .command('images')
    .description('list the images in the local store')
    .option('-q, --quiet', 'print only image ids')
    .action(async (flags: { quiet?: boolean }, command: Command) => {
      const images = await listImages(rootOf(command));
      if (flags.quiet) {
        for (const image of images) process.stdout.write(`${image.config.slice(7, 19)}\n`);
        return;
      }
      // SIZE is unpacked, as docker shows it; COMPRESSED is what the layers take in the store and a
      // registry; PLATFORM lists every platform of a multi-platform image (the rest are the first's).
      const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'COMPRESSED', 'PLATFORM']];
      for (const image of images) {
        const [repository, tag] = splitName(image.name);
        const platforms = (image.platforms?.map((p) => p.platform) ?? [image.platform]).join(',');
        rows.push([
          repository,
          tag,
          image.config.slice(7, 19),
          image.created ? ago(image.created) : 'N/A',
          formatBytes(image.unpacked),
          formatBytes(image.size),
          platforms,
        ]);
      }
      printTable(rows);
    });

  program
    .command('tag')
    .description('give a local image another name')
    .argument('<source>', 'a name, image id or digest (or a prefix of one)')
    .argument('<target>', 'the new name')
    .action(async (source: string, target: string, _flags: unknown, command: Command) => {
      await tagImage(source, target, rootOf(command));
    });

  program
    .command('rmi')
    .description('remove names (or, by id, an image) from the local store; blobs go at the next prune')
    .argument('<names...>', 'image names, ids or digests')
    .option('-f, --force', 'an id removes every name of its image')
    .action(async (names: string[], flags: { force?: boolean }, command: Command) => {
      for (const name of names) {
        for (const gone of await removeImage(name, { ...rootOf(command), force: flags.force === true }))
          process.stdout.write(gone.startsWith('sha256:') ? `Deleted: ${gone}\n` : `Untagged: ${gone}\n`);
      }
    });

  program
    .command('inspect')
    .description("print an image's manifest and config as JSON (a multi-platform image's index and platforms too)")
    .argument('<name>', 'a name, image id or digest (or a prefix of one)')
    .option('--platform <os/arch>', 'of a multi-platform image, the platform shown (default: the one built for this machine)')
    .action(async (name: string, flags: { platform?: string }, command: Command) => {
      const options = { ...rootOf(command), ...(flags.platform ? { platform: flags.platform } : {}) };
      process.stdout.write(`${JSON.stringify(await inspectImage(name, options), null, 2)}\n`);
    });

  program
    .command('history')
    .description('show the history of an image, newest first')
    .argument('<name>', 'a name, image id or digest (or a prefix of one)')
    .option('--no-trunc', 'do not shorten CREATED BY')
    .option('--platform <os/arch>', 'of a multi-platform image, the platform shown (default: the one built for this machine)')
    .action(async (name: string, flags: { trunc: boolean; platform?: string }, command: Command) => {
      const options = { ...rootOf(command), ...(flags.platform ? { platform: flags.platform } : {}) };
      const inspected = await inspectImage(name, options);
      // Which platform this is, when there are several (on stderr: the table stays as docker prints it).
      if (inspected.platforms) {
        const shown = `${inspected.config.os}/${inspected.config.architecture}${inspected.config.variant ? `/${inspected.config.variant}` : ''}`;
        process.stderr.write(`${inspected.name}: ${shown} of ${inspected.platforms.map((p) => p.platform).join(', ')} (choose with --platform)\n`);
      }
      const rows = [['CREATED', 'CREATED BY', 'SIZE', 'COMPRESSED', 'COMMENT']];
      for (const entry of await imageHistory(name, options)) {
        const by = entry.created_by ?? '';
        rows.push([
          entry.created ? ago(entry.created) : '<missing>',
          flags.trunc && by.length > 45 ? `${by.slice(0, 44)}…` : by,
          formatBytes(entry.unpacked),
          formatBytes(entry.size),
          entry.comment ?? '',
        ]);
      }
      printTable(rows);
    });

  program
    .command('save')
    .description('write images to a tar file: a docker archive (default) or an OCI layout')
    .argument('<names...>', 'image names, ids or digests')
    .requiredOption('-o, --output <file>', 'the tar file to write')
    .option('--format <format>', 'docker or oci', 'docker')
    .action(async (names: string[], flags: { output: string; format: string }, command: Command) => {
      if (flags.format !== 'docker' && flags.format !== 'oci')
        throw new InvalidArgumentError(`unknown --format "${flags.format}"`, { hint: 'use docker or oci' });
      await saveImages(names, flags.output, flags.format, { ...rootOf(command), signal: context.signal });
    });

  program
    .command('load')
    .description('load images from a docker archive or OCI layout tar')
    .requiredOption('-i, --input <file>', 'the tar file to read')
    .action(async (flags: { input: string }, command: Command) => {
      for (const image of await load(flags.input, { ...rootOf(command), signal: context.signal })) {
        process.stdout.write(image.names.length > 0 ? image.names.map((n) => `Loaded image: ${n}\n`).join('') : `Loaded image: ${image.digest}\n`);
      }
    });

  program
    .command('push')
    .description('push a local image to its registry')
    .argument('<name>', 'the image name (its registry and repository), or the id of an image with one name')
    .option('-q, --quiet', 'print only the manifest digest')
    .action(async (name: string, flags: { quiet?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalFlags>();
      const result = await push(name, {
        ...rootOf(command),
        ...(globals.registriesConfig ? { registriesConfig: globals.registriesConfig } : {}),
        registries: registriesFromFlags(globals),
        signal: context.signal,
        ...(flags.quiet ? {} : { progress: plainProgress() }),
      });
      process.stdout.write(`${result.digest}\n`);
    });
}

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows)
    process.stdout.write(
      `${row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd()}\n`,
    );
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
  const steps: Array<[number, string]> = [
    [31536000, 'year'],
    [2592000, 'month'],
    [604800, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of steps) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${unit}${n > 1 ? 's' : ''} ago`;
  }
  return 'less than a minute ago';
}
