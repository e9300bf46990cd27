/**
 * The flags `docker buildx build` takes for RUN's sandbox, read into the build request's values:
 * `--network default|none|host`, `--allow ENTITLEMENT[,…]`, `--add-host NAME=IP` (or `NAME:IP`),
 * `--shm-size 128m` and `--ulimit nofile=1024:2048`. Each refuses a bad value in one line.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import type { NetworkMode } from '../network/network.js';
import type { HostEntry } from '../runtime/executor.js';
import type { Ulimit } from '../runtime/oci-spec.js';
import { parseEntitlement, type Entitlement } from './entitlements.js';

const NETWORK_MODES: readonly NetworkMode[] = ['default', 'none', 'host'];

/** Docker's `--ulimit` names; each is `RLIMIT_<NAME>`. */
const ULIMITS = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
];

export function parseNetworkMode(text: string): NetworkMode {
  if (!(NETWORK_MODES as readonly string[]).includes(text))
    throw new InvalidArgumentError(`invalid --network "${text}"`, { hint: 'use default, none or host' });
  return text as NetworkMode;
}

/** `--allow network.host,security.insecure` (repeatable). */
export function parseEntitlements(values: readonly string[]): Entitlement[] {
  return [...new Set(values.flatMap((v) => v.split(',')).map((e) => parseEntitlement(e.trim())))];
}

/** `--add-host NAME=IP` or `NAME:IP` (the IP may be IPv6, colons and all). */
export function parseHostEntry(text: string): HostEntry {
  const at = /^[^=:]*[=:]/.exec(text)?.[0].length;
  const name = at === undefined ? '' : text.slice(0, at - 1);
  const address = at === undefined ? '' : text.slice(at);
  if (!name || !isIP(address.replace(/^\[|\]$/g, ''))) throw new InvalidArgumentError(`invalid --add-host "${text}": expected NAME=IP`);
  return { name, address: address.replace(/^\[|\]$/g, '') };
}

/** `128m`, `1g`, `4096` (bytes) → bytes; units are powers of 1024, as Docker's `RAMInBytes`. */
export function parseByteSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`invalid ${flag} "${text}": expected a size such as 64m or 1g`);
  const power = ' kmgtp'.indexOf((match[2] ?? '').toLowerCase() || ' ');
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** `--ulimit name=soft[:hard]` (hard defaults to soft; -1 is unlimited). */
export function parseUlimit(text: string): Ulimit {
  const match = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text);
  if (!match || !ULIMITS.includes(match[1] ?? '')) {
    throw new InvalidArgumentError(`invalid --ulimit "${text}": expected NAME=SOFT[:HARD]`, { hint: `NAME is one of ${ULIMITS.join(', ')}` });
  }
  const value = (n: string): number => (Number(n) < 0 ? 2 ** 64 - 1 : Number(n));
  const soft = value(match[2] ?? '0');
  const hard = match[3] === undefined ? soft : value(match[3]);
  if (soft > hard) throw new InvalidArgumentError(`invalid --ulimit "${text}": the soft limit is above the hard one`);
  return { type: `RLIMIT_${(match[1] ?? '').toUpperCase()}`, soft, hard };
}
