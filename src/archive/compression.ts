/**
 * Layer compression: gzip through node:zlib, zstd through `zstd.ts`, a layer's compression from
 * its media type, and detection of what a stream is by its first bytes.
 */
import { PassThrough, type Duplex } from 'node:stream';
import { createGunzip, createGzip, type Gunzip, type Gzip } from 'node:zlib';
import { UnsupportedError } from '../errors.js';
import { MediaType } from '../image/oci-types.js';
import { parallelGzip } from './parallel-gzip.js';
import { zstdCompress, zstdDecompress } from './zstd.js';

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

/** How an image layer can be stored. */
export type LayerCompression = 'gzip' | 'zstd' | 'uncompressed';

/** A layer's compression, from its media type (OCI or Docker). */
export function layerCompression(mediaType: string): LayerCompression {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('.diff.tar')) return 'uncompressed';
  throw new UnsupportedError(`layers of type ${mediaType} are not supported`);
}

/** The OCI layer media type for `compression`. */
export function layerMediaType(compression: LayerCompression): string {
  return { gzip: MediaType.OciLayerGzip, zstd: MediaType.OciLayerZstd, uncompressed: MediaType.OciLayer }[compression];
}

/** A stream turning a layer stored with `compression` into its tar bytes. */
export function layerDecompressor(compression: LayerCompression): Duplex {
  return compression === 'gzip' ? gunzip() : compression === 'zstd' ? zstdDecompress() : new PassThrough();
}

/** A stream compressing tar bytes with `compression` (`level`: the codec's own default when unset). */
export function layerCompressor(compression: LayerCompression, level?: number): Duplex {
  if (compression === 'gzip') return parallelGzip(level === undefined ? {} : { level });
  return compression === 'zstd' ? zstdCompress(level) : new PassThrough();
}
