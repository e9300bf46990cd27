/**
 * Network providers for tests that run RUN steps below the builder: one per mode and state root,
 * as a build has; `close()` them when the steps are done, so no namespace or slirp4netns outlives
 * the test (and its temp directories can go).
 */
import type { NetworkMode, NetworkProvider } from '../../src/network/network.js';
import { createNetworkProvider } from '../../src/network/providers.js';

export interface TestNetworks {
  /** `ExecContext.networks`. */
  networks: (mode: NetworkMode) => NetworkProvider;
  close(): Promise<void>;
  /** How many step networks were prepared and how many of those released, so far. */
  counts(): { prepared: number; released: number };
}

export function testNetworks(root: string): TestNetworks {
  const providers = new Map<NetworkMode, NetworkProvider>();
  const counts = { prepared: 0, released: 0 };
  return {
    networks: (mode) => {
      let provider = providers.get(mode);
      if (!provider) {
        const real = createNetworkProvider(mode, { root });
        provider = {
          mode: real.mode,
          prepare: async (signal) => {
            const network = await real.prepare(signal);
            counts.prepared++;
            return {
              ...network,
              release: async () => {
                counts.released++;
                await network.release();
              },
            };
          },
          close: () => real.close(),
        };
        providers.set(mode, provider);
      }
      return provider;
    },
    counts: () => ({ ...counts }),
    close: async () => {
      await Promise.all([...providers.values()].map((provider) => provider.close()));
    },
  };
}
