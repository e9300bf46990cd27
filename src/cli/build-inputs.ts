/**
 * The inputs of `tsbuild build` that come before the build proper: the context argument (a
 * directory, `-`, a git or archive URL) and `-f -`, made local once so that the checks and the
 * build read the same thing (stdin can be read only once, a repository need be cloned only once);
 * and the outputs that write to stdout, which buildx refuses to send to a terminal.
 */
import type { Command } from 'commander';
import type { OutputSpec } from '../index.js';
import { InvalidArgumentError } from '../errors.js';
import type { CliContext, GlobalFlags } from './context.js';
import { keyValues } from './key-values.js';
import { loadLibrary } from './load-library.js';

/**
 * Makes the build's context argument local: returns the directory to build from and sets `file`
 * to the Dockerfile to read when the input decided it (`-f -`, a Dockerfile on stdin or at a URL,
 * `-f` inside a remote context). What was fetched is removed when the command ends.
 */
export async function localInput(argument: string, flags: { file?: string; buildArg: string[] }, command: Command, cli: CliContext): Promise<string> {
  const globals = command.optsWithGlobals<GlobalFlags>();
  // cli-support.ts loads when a build starts, not when the CLI does (`--version`, `--help`).
  const { openContext } = await loadLibrary();
  const opened = await openContext(argument, {
    ...(flags.file === undefined ? {} : { dockerfile: flags.file }),
    ...(globals.root ? { root: globals.root } : {}),
    buildArgs: keyValues(flags.buildArg, '--build-arg'),
    signal: cli.signal,
  });
  cli.cleanups.push(() => opened.close());
  if (opened.dockerfile !== undefined) flags.file = opened.dockerfile;
  return opened.dir;
}

/** `--build-context NAME=SOURCE` values by name (each must have a source). */
export function buildContextFlags(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1) throw new InvalidArgumentError(`invalid --build-context "${entry}": expected NAME=SOURCE`);
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Refuses an archive for a terminal; says whether stdout carries an output (then the digest is not printed there). */
export async function stdoutTaken(outputs: readonly OutputSpec[]): Promise<boolean> {
  const { checkStdoutOutputs, writesToStdout } = await loadLibrary();
  checkStdoutOutputs(outputs, process.stdout.isTTY === true);
  return writesToStdout(outputs);
}
