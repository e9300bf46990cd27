/**
 * The providers of the three `RUN --network` modes, made by `createNetworkProvider`:
 *
 * - `host`: the host's namespace itself (no namespace entry for runc), the host's resolv.conf.
 * - `none`: a fresh namespace per step with only `lo`, up.
 * - `default`: a fresh namespace per step behind its own slirp4netns (`slirp.ts`), so a step
 *   reaches the outside world but neither the host's loopback nor another step: nothing forwards
 *   into a namespace, and each has its own 127.0.0.1. Setting one up costs about as much as
 *   starting a process, against the hundreds of milliseconds a runc container takes (numbers in
 *   docs/run.md, "Network"), so no namespace is shared between steps.
 *
 * Every namespace lives in a scratch directory of the state root named with the owner tag
 * (`namespace-file.ts`); the provider tracks what it handed out, so `close()` at the end of a
 * build releases what a failed step's caller did not.
 */
import { InternalError } from '../errors.js';
import { readTextIfExists } from '../util/absent.js';
import { createNamespaceFile, removeNamespaceFile, type NamespaceFile } from './namespace-file.js';
import type { NetworkMode, NetworkProvider, StepNetwork } from './network.js';
import { stepResolvConf } from './resolv-conf.js';
import { startSlirp, type SlirpOptions } from './slirp.js';

export interface NetworkProviderOptions {
  /** The state root; namespaces go to its `tmp/` (`util/scratch.ts`). Unused by `host`. */
  root: string;
  /** The host's resolv.conf the steps' files derive from; default /etc/resolv.conf. */
  hostResolvConf?: string;
  /** How slirp4netns is started (`default` only). */
  slirp?: SlirpOptions;
}

/** The provider for `mode`; one per build and mode, closed when the build ends. */
export function createNetworkProvider(mode: NetworkMode, options: NetworkProviderOptions): NetworkProvider {
  return new Provider(mode, options);
}

class Provider implements NetworkProvider {
  private readonly held = new Set<StepNetwork>();
  private closed = false;

  constructor(
    readonly mode: NetworkMode,
    private readonly options: NetworkProviderOptions,
  ) {}

  async prepare(signal?: AbortSignal): Promise<StepNetwork> {
    signal?.throwIfAborted();
    if (this.closed) throw new InternalError(`the ${this.mode} network provider is closed`);
    const resolvConf = stepResolvConf(this.mode, await readTextIfExists(this.options.hostResolvConf ?? '/etc/resolv.conf'));
    if (this.mode === 'host') return { namespacePath: undefined, resolvConf, release: () => Promise.resolve() };
    const ns = await createNamespaceFile(this.options.root, this.mode === 'none');
    let teardown = (): Promise<void> => removeNamespaceFile(ns);
    try {
      signal?.throwIfAborted();
      if (this.mode === 'default') {
        const slirp = await startSlirp(ns, this.options.slirp, signal);
        // The kernel takes 15–40 ms to remove slirp4netns's tap device as it exits; the
        // namespace file is unmounted meanwhile.
        teardown = async () => {
          const [stopped, removed] = await Promise.allSettled([slirp.stop(), removeNamespaceFile(ns)]);
          for (const result of [stopped, removed]) if (result.status === 'rejected') throw result.reason;
        };
      }
    } catch (err) {
      await teardown().catch(() => undefined);
      throw err;
    }
    return this.track(ns, resolvConf, teardown);
  }

  async close(): Promise<void> {
    this.closed = true;
    const errors: unknown[] = [];
    for (const step of [...this.held]) await step.release().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }

  /** A step network whose release runs `teardown` once, however often it is called. */
  private track(ns: NamespaceFile, resolvConf: string, teardown: () => Promise<void>): StepNetwork {
    let released: Promise<void> | undefined;
    const step: StepNetwork = {
      namespacePath: ns.path,
      resolvConf,
      release: () => {
        released ??= teardown().finally(() => this.held.delete(step));
        return released;
      },
    };
    this.held.add(step);
    return step;
  }
}
