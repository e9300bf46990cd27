/**
 * A blob body that survives a dropped or silent connection. Layers are large and a pull may run
 * for minutes; when the connection breaks mid-body (a reset, or the idle timeout), the download
 * continues with `Range: bytes=N-` from the N bytes already passed on, the way containerd's
 * `httpReadSeeker` does, instead of starting again. A registry that ignores the range answers
 * 200 with the whole blob: its first N bytes are skipped, so the reader still sees one contiguous
 * stream. The digest is checked downstream over every byte, so a resumed download that was stitched
 * wrongly can never be stored. A read that made progress is always resumed; reads in a row that
 * failed without a byte are bounded by the retry count.
 */
import { Readable } from 'node:stream';
import { isTransientNetworkError } from '../http/network-errors.js';
import type { HttpResponse } from '../http/http-response.js';

/** How to (re)open the blob and what to do when it cannot be read. */
export interface BlobDownload {
  /** The response to the first GET (status 200, with a body). */
  first: HttpResponse;
  /** The blob's size, when known: a connection lost after the last byte needs no resume. */
  size?: number;
  /** Sends the GET again with `Range: bytes=<offset>-`; the answer's status is checked here. */
  reopen(offset: number): Promise<HttpResponse>;
  /** Reads in a row that may fail without progress before the download gives up. */
  retries: number;
  /** Waits before retry number `attempt` (0-based). */
  backoff(attempt: number): Promise<void>;
  /** The error for a body that could not be read (`attempts` reads, counting the first). */
  failure(err: unknown, attempts: number): Error;
  /** The error for a non-200/206 answer to a resume. */
  refused(response: HttpResponse): Promise<Error>;
  signal?: AbortSignal;
}

/** The blob's bytes as one stream, resumed across broken connections. */
export function resumableBody(download: BlobDownload): Readable {
  return Readable.from(chunks(download), { objectMode: false });
}

async function* chunks(download: BlobDownload): AsyncGenerator<Uint8Array> {
  let response = download.first;
  /** Bytes passed on so far. */
  let offset = 0;
  /** Bytes at the start of the current body that were passed on already (a 200 to a range). */
  let skip = 0;
  /** Reads in a row that failed without passing on a byte (containerd's errsWithNoProgress). */
  let stalls = 0;
  /** Reads started, for the final error. */
  let attempts = 1;
  for (;;) {
    const before = offset;
    try {
      for await (const chunk of bodyOf(response)) {
        let piece = chunk;
        if (skip > 0) {
          const dropped = Math.min(skip, piece.length);
          skip -= dropped;
          piece = piece.subarray(dropped);
          if (piece.length === 0) continue;
        }
        offset += piece.length;
        yield piece;
      }
    } catch (err) {
      if (download.signal?.aborted) throw download.signal.reason ?? err;
      // Everything arrived and only the end of the exchange was lost: the digest check decides.
      if (download.size !== undefined && offset >= download.size && skip === 0) return;
      stalls = offset > before ? 0 : stalls + 1;
      if (!isTransientNetworkError(err) || stalls > download.retries) throw download.failure(err, attempts);
      await download.backoff(stalls);
      attempts++;
      response = await download.reopen(offset);
      skip = await rangeStart(response, offset, download, attempts);
      continue;
    }
    if (skip > 0) throw download.failure(new Error(`the whole blob, sent again, ended before the ${offset} bytes sent before`), attempts);
    return;
  }
}

/** Bytes to skip of a resumed answer: 0 for a 206 from `offset`, `offset` for a 200. */
async function rangeStart(response: HttpResponse, offset: number, download: BlobDownload, attempts: number): Promise<number> {
  if (response.status === 200) return offset;
  if (response.status !== 206) throw await download.refused(response);
  const range = response.headers.get('content-range');
  if (!range?.startsWith(`bytes ${offset}-`)) {
    await response.body?.cancel();
    throw download.failure(new Error(`asked for bytes ${offset}- and got ${range === null ? 'no Content-Range' : `"${range}"`}`), attempts);
  }
  return 0;
}

async function* bodyOf(response: HttpResponse): AsyncGenerator<Uint8Array> {
  if (response.body) yield* response.body;
}
