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
}

export function testNetworks(root: string): TestNetworks {
  const providers = new Map<NetworkMode, NetworkProvider>();
  return {
    networks: (mode) => {
      let provider = providers.get(mode);
      if (!provider) {
        provider = createNetworkProvider(mode, { root });
        providers.set(mode, provider);
      }
      return provider;
    },
    close: async () => {
      await Promise.all([...providers.values()].map((provider) => provider.close()));
    },
  };
}
