/**
 * The providers of the three `RUN --network` modes, made by `createNetworkProvider`:
 *
 * - `host`: the host's namespace itself (no namespace entry for runc), the host's resolv.conf.
 * - `none`: a fresh namespace per step with only `lo`, up: runc makes it with the container (as
 *   BuildKit's `none` does), so nothing is made here and nothing outlives the container. Making
 *   it here as a file (two tool processes, and an unmount after) cost a RUN 10–20 ms.
 * - `default`: a fresh namespace per step behind its own slirp4netns (`slirp.ts`), so a step
 *   reaches the outside world but neither the host's loopback nor another step: nothing forwards
 *   into a namespace, and each has its own 127.0.0.1.
 *
 * Making a `default` namespace takes 15–40 ms, a third of a `RUN true` (docs/run.md, "Network").
 * Sharing one between steps would let parallel steps talk over 127.0.0.1 and let an insecure
 * step change the network of the next, so instead each provider makes the next step's namespace
 * while the current step runs (one spare) and `prepare()` hands it out at once.
 *
 * Every namespace lives in a scratch directory of the state root named with the owner tag
 * (`namespace-file.ts`); the provider tracks what it handed out and what it is making, so
 * `close()` at the end of a build leaves nothing, whatever the steps' callers released.
 */
import { InternalError } from '../errors.js';
import { readTextIfExists } from '../util/absent.js';
import { makeIsolatedNamespace, type IsolatedNamespace } from './isolated-namespace.js';
import type { NetworkMode, NetworkProvider, StepNetwork } from './network.js';
import { stepResolvConf } from './resolv-conf.js';
import type { SlirpOptions } from './slirp.js';

export interface NetworkProviderOptions {
  /** The state root; namespaces go to its `tmp/` (`util/scratch.ts`). Unused by `host` and `none`. */
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
  /** Namespaces on their way to a step (`obtain`), which `close()` waits for. */
  private readonly obtaining = new Set<Promise<unknown>>();
  /** The next step's namespace, made while the current step runs. */
  private spare: Promise<IsolatedNamespace> | undefined;
  private closed = false;

  constructor(
    readonly mode: NetworkMode,
    private readonly options: NetworkProviderOptions,
  ) {}

  async prepare(signal?: AbortSignal): Promise<StepNetwork> {
    signal?.throwIfAborted();
    this.throwIfClosed();
    const resolvConf = stepResolvConf(this.mode, await readTextIfExists(this.options.hostResolvConf ?? '/etc/resolv.conf'));
    if (this.mode !== 'default') return { namespace: this.mode === 'host' ? 'host' : 'new', resolvConf, release: () => Promise.resolve() };
    const obtaining = this.obtain(signal);
    this.obtaining.add(obtaining);
    let ns: IsolatedNamespace;
    try {
      ns = await obtaining;
    } finally {
      this.obtaining.delete(obtaining);
    }
    this.makeSpare();
    return this.track(ns, resolvConf);
  }

  async close(): Promise<void> {
    this.closed = true;
    const errors: unknown[] = [];
    await Promise.allSettled([...this.obtaining]);
    const spare = await this.spare?.catch(() => undefined); // a spare that failed to start holds nothing
    this.spare = undefined;
    await spare?.teardown().catch((err: unknown) => errors.push(err));
    for (const step of [...this.held]) await step.release().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }

  /** The spare, or a namespace made now; torn down again if the step was aborted or the build ended. */
  private async obtain(signal: AbortSignal | undefined): Promise<IsolatedNamespace> {
    const spare = this.spare;
    this.spare = undefined;
    // A spare that could not be made is made again, for this step: its error is this step's.
    const ns = (await spare?.catch(() => undefined)) ?? (await this.make(signal));
    if (signal?.aborted || this.closed) {
      await ns.teardown();
      signal?.throwIfAborted();
      this.throwIfClosed();
    }
    return ns;
  }

  private make(signal?: AbortSignal): Promise<IsolatedNamespace> {
    return makeIsolatedNamespace(this.options.root, this.options.slirp, signal);
  }

  /** Starts making the next step's namespace, unless one is on its way or the build is over. */
  private makeSpare(): void {
    if (this.spare !== undefined || this.closed) return;
    const spare = this.make();
    // Its failure is seen (and reported) by the step that would have used it.
    spare.catch(() => undefined);
    this.spare = spare;
  }

  private throwIfClosed(): void {
    if (this.closed) throw new InternalError(`the ${this.mode} network provider is closed`);
  }

  /** A step network whose release tears the namespace down once, however often it is called. */
  private track(ns: IsolatedNamespace, resolvConf: string): StepNetwork {
    let released: Promise<void> | undefined;
    const step: StepNetwork = {
      namespace: { path: ns.path },
      resolvConf,
      release: () => {
        released ??= ns.teardown().finally(() => this.held.delete(step));
        return released;
      },
    };
    this.held.add(step);
    return step;
  }
}
