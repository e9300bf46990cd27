/**
 * A response body (`node:http`'s IncomingMessage) as the web stream a `Response` carries, which
 * hands over every byte that arrived before it reports the error that ended it. A connection cut
 * after N bytes must look like exactly that, or a resumed blob download fetches again bytes that
 * had already arrived. Two things drop such bytes: `Readable.toWeb` errors its web stream the
 * moment the message fails, discarding what the web stream had queued; and Node destroys a message
 * whose connection closes early, with what it had buffered while paused still inside. So the queue
 * here is ours (drained before the error is raised), and what the destroyed message still holds is
 * read out of it (`read()` still returns buffered data when the failure is reported). Backpressure
 * is kept: past `highWaterMark` queued bytes the message is paused (and with it the socket), and
 * resumed as the reader catches up.
 */
import type { IncomingMessage } from 'node:http';

const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

export function bodyStream(message: IncomingMessage, highWaterMark = DEFAULT_HIGH_WATER_MARK): ReadableStream<Uint8Array> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  message.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= highWaterMark) message.pause();
    notify();
  });
  message.once('end', () => {
    ended = true;
    notify();
  });
  /** Moves what a failed message still buffers into the queue. */
  const salvage = (): void => {
    for (let chunk = message.read() as Buffer | null; chunk !== null; chunk = message.read() as Buffer | null) {
      queue.push(chunk);
      queued += chunk.length;
    }
  };
  message.once('error', (error: unknown) => {
    salvage();
    failure ??= { error };
    notify();
  });
  // A message closed without ending or failing was cut off too (Node reports that as 'aborted').
  message.once('close', () => {
    if (!ended && !message.complete) {
      salvage();
      failure ??= { error: Object.assign(new Error('aborted'), { code: 'ECONNRESET' }) };
    }
    notify();
  });
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (queue.length === 0 && !ended && !failure) await new Promise<void>((resolve) => (wake = resolve));
        const chunk = queue.shift();
        if (chunk) {
          queued -= chunk.length;
          if (queued < highWaterMark && message.isPaused()) message.resume();
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        } else if (failure) controller.error(failure.error);
        else controller.close();
      },
      cancel() {
        message.destroy();
      },
    },
    // The queue above is the buffer; the web stream holds nothing of its own.
    { highWaterMark: 0 },
  );
}
