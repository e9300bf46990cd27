/**
 * Parallel gzip: valid gzip (node's gunzip and GNU gzip read it), the same bytes whatever the input
 * chunking or concurrency, byte-for-byte node's gzip for inputs of one block, and bounded work in
 * flight.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parallelGzip, type ParallelGzipOptions } from '../../src/archive/parallel-gzip.js';

async function compress(data: Buffer, options: ParallelGzipOptions, chunk = 65536): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) chunks.push(data.subarray(i, i + chunk));
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), parallelGzip(options), new Writable({ write: (c: Buffer, _e, done) => void (out.push(c), done()) }));
  return Buffer.concat(out);
}

const text = Buffer.from(Array.from({ length: 50_000 }, (_, i) => `line ${i} of the log ${i % 7}\n`).join(''));
const noise = randomBytes(700_000);
const data = Buffer.concat([text, noise, text, noise.subarray(0, 12345)]);

describe('parallelGzip', () => {
  it.each([
    ['1 MiB blocks', { blockSize: 1 << 20 }],
    ['64 KiB blocks', { blockSize: 64 * 1024 }],
    ['odd 100,003-byte blocks', { blockSize: 100_003 }],
  ])('%s: round-trips, and is identical across chunkings and concurrency', async (_name, options) => {
    const a = await compress(data, { ...options, concurrency: 4 });
    const b = await compress(data, { ...options, concurrency: 1 }, 7777);
    const c = await compress(data, { ...options, concurrency: 2 }, 1 << 20);
    expect(zlib.gunzipSync(a).equals(data)).toBe(true);
    expect([b.equals(a), c.equals(a)]).toEqual([true, true]);
    // Within 1% of single-stream gzip's size: the dictionary carries context across blocks.
    expect(a.length / zlib.gzipSync(data).length).toBeLessThan(1.01);
    expect(execFileSync('gzip', ['-dc'], { input: a, maxBuffer: 1 << 26 }).equals(data)).toBe(true);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['small text', Buffer.from('hello world\n'.repeat(1000))],
    ['exactly one block', Buffer.concat([text, noise]).subarray(0, 1 << 20)],
  ])('%s: byte-for-byte what single-stream gzip writes', async (_name, input) => {
    const out = await compress(input, { blockSize: 1 << 20 });
    expect(createHash('sha256').update(out).digest('hex')).toBe(
      createHash('sha256')
        .update(zlib.gzipSync(input, { level: 6 }))
        .digest('hex'),
    );
  });

  it('keeps at most `concurrency` blocks in flight, one deflate per block', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const counting = new Writable({ write: (_c: Buffer, _e, done) => done() });
    const gz = parallelGzip({ blockSize: 64 * 1024, concurrency: 3 });
    // Count in-flight blocks from the outside: each `push` of a compressed block ends one.
    const original = zlib.deflateRaw;
    (zlib as { deflateRaw: unknown }).deflateRaw = (
      buffer: Buffer,
      options: zlib.ZlibOptions,
      callback: (err: Error | null, out: Buffer) => void,
    ): void => {
      calls++;
      most = Math.max(most, ++inFlight);
      original(buffer, options, (err, out) => {
        inFlight--;
        callback(err, out);
      });
    };
    try {
      await pipeline(Readable.from([data, data, data]), gz, counting);
    } finally {
      (zlib as { deflateRaw: unknown }).deflateRaw = original;
    }
    expect(calls).toBe(Math.ceil((data.length * 3) / (64 * 1024)));
    expect(most).toBe(3);
  });
});
