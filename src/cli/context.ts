/**
 * What every command gets from the root program: the global flags (state root, registry settings)
 * and the AbortSignal that Ctrl-C fires.
 */
import type { Command } from 'commander';
import type { ProgressSink, RegistryHostsConfig } from '../index.js';
import { collect } from './key-values.js';

/** Global flags, as commander parses them. */
export interface GlobalFlags {
  root?: string;
  registriesConfig?: string;
  registryMirror: string[];
  insecureRegistry: string[];
  debug?: boolean;
}

/** Adds the global flags to the root program. */
export function addGlobalFlags(program: Command): Command {
  return program
    .option('--root <dir>', 'state directory (default: $TSBUILD_ROOT, /var/lib/tsbuild as root, else ~/.local/share/tsbuild)')
    .option('--registries-config <file>', 'registry mirrors, insecure registries, timeouts and retries (JSON)')
    .option('--registry-mirror <host=url>', 'pull HOST through the mirror URL (repeatable)', collect, [])
    .option('--insecure-registry <host>', 'use plain HTTP for HOST (repeatable)', collect, [])
    .option('--debug', 'print stack traces with errors');
}

/** The registry settings the global flags give. */
export function registriesFromFlags(flags: GlobalFlags): RegistryHostsConfig {
  const mirrors: Record<string, string[]> = {};
  for (const entry of flags.registryMirror) {
    const eq = entry.indexOf('=');
    const host = eq < 0 ? 'docker.io' : entry.slice(0, eq);
    mirrors[host] = [...(mirrors[host] ?? []), eq < 0 ? entry : entry.slice(eq + 1)];
  }
  return { mirrors, insecure: flags.insecureRegistry };
}

/**
 * The progress of a command without a progress display (`images`, `prune`, the checks before a
 * build): its messages — a damaged state file set aside, what a reclaim removed — as lines on stderr.
 */
export const messagesOnStderr: ProgressSink = {
  emit: (event) => {
    if (event.type === 'message') process.stderr.write(`${event.text}\n`);
  },
};

/** State shared by the commands of one run. */
export interface CliContext {
  signal: AbortSignal;
  /** A status for a command that succeeded but has something to report (`--call=check` findings). */
  exitCode?: number;
  /** What to remove when the command ends, however it ends (a fetched build context). */
  cleanups: Array<() => Promise<void>>;
}
