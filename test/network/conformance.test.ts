/**
 * Every network mode's provider runs the network conformance suite, with its answers in one table:
 * `host` is the host's namespace itself; `none` a namespace runc makes with only `lo`; `default` a
 * namespace file behind its own sandboxed slirp4netns, reaching what the host reaches but the host's loopback.
 */
import type { NetworkMode } from '../../src/network/network.js';
import { createNetworkProvider } from '../../src/network/providers.js';
import { networkSuite, type NetworkAnswers } from '../suites/network.js';

const HOST_SEARCH = 'search build.test\noptions ndots:2\n';

const answers: Array<[NetworkMode, NetworkAnswers]> = [
  [
    'host',
    {
      namespace: 'host',
      interfaces: 'host',
      helpers: 0,
      resolvConf: `nameserver 127.0.0.53\nnameserver 192.0.2.1\n${HOST_SEARCH}`,
      hostLoopback: 'reached',
      hostAddress: 'reached',
    },
  ],
  [
    'none',
    // The loopback resolver is dropped, as BuildKit does for a namespace of its own.
    {
      namespace: 'new',
      interfaces: ['lo'],
      helpers: 0,
      resolvConf: `nameserver 192.0.2.1\n${HOST_SEARCH}`,
      hostLoopback: 'refused',
      hostAddress: 'unreachable',
    },
  ],
  [
    'default',
    // The loopback resolver becomes slirp4netns's forwarder; the host's 127.0.0.1 is the step's own.
    {
      namespace: 'file',
      interfaces: ['eth0', 'lo'],
      helpers: 1,
      resolvConf: `nameserver 10.0.2.3\nnameserver 192.0.2.1\n${HOST_SEARCH}`,
      hostLoopback: 'refused',
      hostAddress: 'reached',
    },
  ],
];

for (const [mode, expected] of answers) networkSuite(`${mode} (createNetworkProvider)`, (options) => createNetworkProvider(mode, options), expected);
