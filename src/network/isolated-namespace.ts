/**
 * One namespace of the `default` mode with what keeps it working: the namespace file and the
 * slirp4netns attached to it. (`none` needs neither: runc makes its namespace, `providers.ts`.)
 * `teardown` undoes all of it; a failure or an abort while it is made leaves nothing behind.
 */
import { createNamespaceFile, removeNamespaceFile } from './namespace-file.js';
import { startSlirp, type SlirpOptions } from './slirp.js';

export interface IsolatedNamespace {
  /** The namespace file for runc. */
  readonly path: string;
  /** Stops the helper and removes the namespace file and its directory. */
  teardown(): Promise<void>;
}

export async function makeIsolatedNamespace(root: string, slirpOptions: SlirpOptions | undefined, signal?: AbortSignal): Promise<IsolatedNamespace> {
  signal?.throwIfAborted();
  const ns = await createNamespaceFile(root);
  try {
    signal?.throwIfAborted();
    const slirp = await startSlirp(ns, slirpOptions, signal);
    return {
      path: ns.path,
      // The kernel takes 15–40 ms to remove slirp4netns's tap device as the process exits; the
      // namespace file is unmounted meanwhile.
      teardown: async () => {
        const [stopped, removed] = await Promise.allSettled([slirp.stop(), removeNamespaceFile(ns)]);
        for (const result of [stopped, removed]) if (result.status === 'rejected') throw result.reason;
      },
    };
  } catch (err) {
    // The error that stopped the set-up is the one to report; what stays is the reclaim's.
    await removeNamespaceFile(ns).catch(() => undefined);
    throw err;
  }
}
