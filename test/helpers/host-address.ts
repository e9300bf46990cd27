/** The host's own address as a step sees it, for network tests. */
import os from 'node:os';

/** The host's first non-loopback IPv4 address: what a step reaches the host's own services on. */
export function primaryAddress(): string {
  const address = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  if (address === undefined) throw new Error('this machine has no non-loopback IPv4 address to serve the test from');
  return address;
}
