/**
 * The network a RUN step sees, as a contract between the executor and the network layer. The
 * executor asks a provider (one per build, of the step's `--network` mode) for a namespace before
 * it starts runc, puts the namespace (the host's, a new one, or a file's) into config.json and the
 * resolv.conf text into the container, and releases it when the step ends. Everything a provider
 * makes lives in the state root under names carrying the owner tag, so the reclaim of a killed
 * build removes it.
 * `test/suites/network.ts` is the conformance suite every provider runs, with its own answers
 * (interfaces, what of the host it reaches, resolv.conf).
 */

/** `RUN --network=…`: BuildKit's three modes. */
export type NetworkMode = 'default' | 'none' | 'host';

/** A network namespace prepared for one RUN step. */
export interface StepNetwork {
  /**
   * Where the process runs: `host`, the host's own namespace (no network namespace entry at all);
   * `new`, a namespace runc makes for the container, with only `lo`, up (`{ type: 'network' }`);
   * `{ path }`, the namespace that file holds (`{ type: 'network', path }`).
   */
  readonly namespace: 'host' | 'new' | { readonly path: string };
  /** What the step's /etc/resolv.conf must say. */
  readonly resolvConf: string;
  /**
   * Releases what `prepare` made for this step: the namespace file, its helper processes, its
   * files in the state root. Safe to call more than once.
   */
  release(): Promise<void>;
}

/** Prepares namespaces of one mode. One instance per build; `close()` when the build ends. */
export interface NetworkProvider {
  readonly mode: NetworkMode;
  /**
   * A namespace for one step; rejects with the signal's reason when aborted (leaving nothing), and
   * once the provider is closed.
   */
  prepare(signal?: AbortSignal): Promise<StepNetwork>;
  /** Releases every namespace this provider prepared that is still held. */
  close(): Promise<void>;
}
