/**
 * Content digests: `sha256:<64 hex>`, the address of every blob. A branded string type so a digest
 * cannot be confused with any other string; `parseDigest` is the only way to make one from input.
 */
import * as crypto from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

/** A validated `sha256:<hex>` digest. */
export type Digest = string & { readonly __digest: unique symbol };

const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** Validates `text` as a sha256 digest (the only algorithm tsbuild stores). */
export function parseDigest(text: string): Digest {
  if (!SHA256.test(text)) {
    const algorithm = text.includes(':') ? text.slice(0, text.indexOf(':')) : '';
    const reason = algorithm && algorithm !== 'sha256' ? `unsupported digest algorithm "${algorithm}"` : 'expected sha256:<64 lowercase hex digits>';
    throw new InvalidArgumentError(`invalid digest "${text}": ${reason}`);
  }
  return text as Digest;
}

/** True when `text` is a valid sha256 digest. */
export function isDigest(text: string): text is Digest {
  return SHA256.test(text);
}

/** The 64 hex digits of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** `crypto.hash` (Node 20.12 and later): one call, no `Hash` object. */
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/**
 * The sha256 of a small in-memory value as 64 hex digits. A `Hash` object per value costs more
 * than hashing a few dozen bytes: the file mirror names each of a COPY's files this way (2,000 in
 * the edit loop's rebuild, 5-15 ms with `createHash`, 2-3 ms with `crypto.hash`).
 */
export function sha256Hex(data: Uint8Array | string): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

/** The digest of a small in-memory value (JSON documents); layers go through `hashingStream`. */
export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${sha256Hex(data)}` as Digest;
}

/** JSON with object keys sorted at every level: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
