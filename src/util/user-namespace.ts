/**
 * Whether this process is the host's root or root of a user namespace. Inside the namespace a
 * rootless tsbuild runs in (`rootless/`), `getuid()` is 0 but the state root, the registries config
 * and every path derived from "who am I" must still be the unprivileged user's: the kernel's
 * `/proc/self/uid_map` tells the two apart (the initial namespace maps all 2^32 - 1 ids onto
 * themselves).
 */
import { readFileSync } from 'node:fs';

let inNamespace: boolean | undefined;

/** True when this process runs in a user namespace other than the host's. */
export function inUserNamespace(): boolean {
  if (inNamespace === undefined) {
    const map = readUidMap();
    // No /proc (not Linux): no user namespaces either.
    inNamespace = map !== undefined && !isInitialMap(map);
  }
  return inNamespace;
}

/** True for the host's root only: uid 0 in the initial user namespace. */
export function isHostRoot(): boolean {
  return process.getuid?.() === 0 && !inUserNamespace();
}

/** The initial namespace's map: `0 0 4294967295` on one line. */
export function isInitialMap(text: string): boolean {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.length === 1 && /^\s*0\s+0\s+4294967295\s*$/.test(lines[0] ?? '');
}

function readUidMap(): string | undefined {
  try {
    return readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    return undefined;
  }
}
