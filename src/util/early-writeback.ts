/**
 * Writeback started while a file is still being written (issue 17). A blob is fsynced before it
 * is renamed into place; left to that one `fsync`, every byte of a large blob is still in the page
 * cache when the writer finishes, and the sync writes all of it while the caller waits (25 ms for
 * the edit loop's 58 MB COPY layer, 280-450 ms for a 1.5 GiB RUN layer here). Here a `fdatasync`
 * starts each time another `every` bytes have been written, one at a time on the thread pool, so
 * the disk writes what the writer has given while it produces the rest, and the last sync only
 * has the tail left (1-6 ms for either layer). Node has no `sync_file_range`, which would start
 * the writes without waiting for them; one sync in flight is the same thing off the main thread.
 *
 * An error of an early sync is kept and thrown by `settled`: Linux reports a failed writeback to
 * an open file once, so the final `fsync` would not see it again.
 */
import type { FileHandle } from 'node:fs/promises';

/** Bytes written between two early syncs. */
export const WRITEBACK_EVERY = 8 * 1024 * 1024;

export class EarlyWriteback {
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly every = WRITEBACK_EVERY,
  ) {}

  /** `bytes` more were written to the file: starts a sync when enough wait and none runs. */
  wrote(bytes: number): void {
    this.unsynced += bytes;
    if (this.unsynced < this.every || this.syncing !== undefined || this.failure !== undefined) return;
    this.unsynced = 0;
    this.syncing = this.handle.datasync().then(
      () => {
        this.syncing = undefined;
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.syncing = undefined;
      },
    );
  }

  /** Resolves once no sync runs (the file may then be closed); never rejects. */
  async idle(): Promise<void> {
    await this.syncing;
  }

  /** Waits for the sync in flight; throws the error of any early sync that failed. */
  async settled(): Promise<void> {
    await this.syncing;
    if (this.failure) throw this.failure.error;
  }
}
