/**
 * Byte progress for a stream: passes it through unchanged and reports the running count, at most
 * every 100 ms, so a transfer's progress events cost nothing measurable.
 */
import { PassThrough, type Readable } from 'node:stream';

/** `source`, reporting bytes seen so far through `report`. */
export function counted(source: Readable, report: (bytes: number) => void): Readable {
  let bytes = 0;
  let last = 0;
  const through = new PassThrough();
  source.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    const now = Date.now();
    if (now - last >= 100) {
      last = now;
      report(bytes);
    }
  });
  source.on('error', (err) => through.destroy(err));
  return source.pipe(through);
}
