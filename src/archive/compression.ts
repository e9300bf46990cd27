/**
 * Layer compression: gzip through node:zlib, and detection of what a stream is by its first bytes.
 */
import { createGunzip, createGzip, type Gunzip, type Gzip } from 'node:zlib';

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

/** Recognises a compressed stream from its magic bytes. */
export function detectCompression(head: Uint8Array): Compression {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

/** A gzip compressor; level 6 like docker and BuildKit, and no file name/time in the header. */
export function gzip(level = 6): Gzip {
  return createGzip({ level });
}

export function gunzip(): Gunzip {
  return createGunzip();
}
