/**
 * The options every verb shares, shaped the same everywhere: where the state root is, how to stop,
 * where progress goes. Verbs that talk to registries add `RegistryOptions`.
 */
import type { ProgressSink } from '../progress/events.js';

export interface CommonOptions {
  /** The state root (default: `$TSBUILD_ROOT`, else `/var/lib/tsbuild` for root, `~/.local/share/tsbuild` for others). */
  root?: string;
  /** Aborting stops the verb and removes what it had started. */
  signal?: AbortSignal;
  /** Receives progress events (the CLI renders them). */
  progress?: ProgressSink;
}
