import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { layerCompression, layerCompressor, layerDecompressor, layerMediaType } from '../../src/archive/compression.js';
import { zstdCompress, zstdDecompress } from '../../src/archive/zstd.js';

const zstdInstalled = (() => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs `input` through `transform` and collects the output. */
async function through(input: Buffer, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk), done()) });
  await pipeline(Readable.from([input.subarray(0, 1000), input.subarray(1000)]), transform, sink);
  return Buffer.concat(chunks);
}

describe('layer compression by media type', () => {
  it.each([
    ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
    ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
    ['application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
    ['application/vnd.oci.image.layer.v1.tar', 'uncompressed'],
    ['application/vnd.docker.image.rootfs.diff.tar', 'uncompressed'],
  ])('%s is %s', (mediaType, compression) => {
    expect(layerCompression(mediaType)).toBe(compression);
  });

  it('refuses a layer type it cannot read', () => {
    expect(() => layerCompression('application/vnd.oci.image.layer.v1.tar+lz4')).toThrow(
      'layers of type application/vnd.oci.image.layer.v1.tar+lz4 are not supported',
    );
    expect(layerMediaType('zstd')).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
  });
});

describe.skipIf(!zstdInstalled)('zstd through the zstd command', () => {
  const input = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(2 << 20, 'the quick brown fox ')]);

  it('round-trips, writes the zstd magic, and gives the same bytes for the same input and level', async () => {
    const once = await through(input, zstdCompress(3));
    const twice = await through(input, zstdCompress(3));
    expect(once.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    expect(once.equals(twice)).toBe(true);
    expect(once.length).toBeLessThan(input.length / 2);
    expect((await through(once, zstdDecompress())).equals(input)).toBe(true);
    // And through the media-type helpers, for every compression.
    for (const compression of ['gzip', 'zstd', 'uncompressed'] as const) {
      const packed = await through(input, layerCompressor(compression));
      expect((await through(packed, layerDecompressor(compression))).equals(input)).toBe(true);
    }
  });

  it('fails in one line on bytes that are not zstd, and refuses levels it would need --ultra for', async () => {
    await expect(buffer(Readable.from([Buffer.from('not zstd at all')]).pipe(zstdDecompress()))).rejects.toThrow(
      'zstd could not decompress: zstd: /*stdin*\\: unsupported format',
    );
    expect(() => zstdCompress(20)).toThrow('zstd compression level 20 is out of range (1-19)');
  });
});
