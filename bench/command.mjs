// How the bench runs tsbuild: as the installed command, `bin/tsbuild.js` executed as a program (its
// shell line, then the `node` on PATH), the way a user's shell runs `tsbuild`. That line keeps Node
// from reading a NODE_EXTRA_CA_CERTS bundle at start-up; `node bin/tsbuild.js` would skip it.
import path from 'node:path';

/** The command of the checkout at `checkout` (default: this one), for execFileSync/spawn. */
export function tsbuildCommand(checkout = '.') {
  return path.resolve(checkout, 'bin', 'tsbuild.js');
}

/**
 * The build flags tsbuild gets where a peer builds the same thing: the peers' RUNs have no network
 * (`--network=none`: the reference engine runs without a bridge, bench/peers.mjs), so tsbuild's get
 * none either, rather than a namespace of their own behind slirp4netns each.
 */
export const LIKE_THE_PEERS = ['--network=none'];
