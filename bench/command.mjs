// How the bench runs tsbuild: as the installed command, `bin/tsbuild.js` executed as a program (its
// shell line, then the `node` on PATH), the way a user's shell runs `tsbuild`. That line keeps Node
// from reading a NODE_EXTRA_CA_CERTS bundle at start-up; `node bin/tsbuild.js` would skip it.
import path from 'node:path';

/** The command of the checkout at `checkout` (default: this one), for execFileSync/spawn. */
export function tsbuildCommand(checkout = '.') {
  return path.resolve(checkout, 'bin', 'tsbuild.js');
}
