import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import { open } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { readFailure } from '../../src/content/store.js';
import { digestOf, parseDigest } from '../../src/digest/digest.js';
import { DigestMismatchError } from '../../src/digest/hashing.js';
import { projectRoot } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';
import { WRITEBACK_EVERY } from '../../src/util/early-writeback.js';
import { contentStoreSuite } from '../suites/content-store.js';

const tempDir = useTempDirs('tsbuild-content-');

contentStoreSuite('LocalContentStore', () => new LocalContentStore(tempDir()));
const HELLO = Buffer.from('hello, content store\n');
const HELLO_DIGEST = digestOf(HELLO);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('LocalContentStore', () => {
  it('stores a blob under blobs/sha256/<hex> and reads it back verified', async () => {
    const root = tempDir();
    const store = new LocalContentStore(root);
    expect(await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST, size: HELLO.length })).toEqual({ digest: HELLO_DIGEST, size: 21 });
    expect(existsSync(path.join(root, 'blobs', 'sha256', HELLO_DIGEST.slice(7)))).toBe(true);
    expect(await readAll(await store.reader(HELLO_DIGEST))).toEqual(HELLO);
    expect(await store.info(HELLO_DIGEST)).toMatchObject({ digest: HELLO_DIGEST, size: 21 });
    const all = [];
    for await (const info of store.walk()) all.push(info);
    expect(all.map(({ digest, size }) => ({ digest, size }))).toEqual([{ digest: HELLO_DIGEST, size: 21 }]);
    expect(readdirSync(path.join(root, 'ingest'))).toEqual([]);
  });

  it('refuses content that does not match the expected digest and stores nothing', async () => {
    const root = tempDir();
    const store = new LocalContentStore(root);
    const wrong = parseDigest(`sha256:${'0'.repeat(64)}`);
    await expect(store.ingest(Readable.from([HELLO]), { digest: wrong })).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST, size: 5 })).rejects.toThrow('has 21 bytes, expected 5');
    expect(await store.info(wrong)).toBeUndefined();
    expect(await store.info(HELLO_DIGEST)).toBeUndefined();
    expect(readdirSync(path.join(root, 'ingest'))).toEqual([]);
  });

  it.each([
    { name: 'a changed byte', bytes: Buffer.from('hello, CONTENT store\n') },
    { name: 'a flipped bit', bytes: Buffer.from(HELLO.map((b, i) => (i === 3 ? b ^ 1 : b))) },
    { name: 'cut short', bytes: HELLO.subarray(0, 10) },
    { name: 'emptied', bytes: Buffer.alloc(0) },
  ])('a stored blob $name: the read fails in one line and the blob is removed, so the next pull stores it again', async ({ bytes }) => {
    const store = new LocalContentStore(tempDir());
    await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST });
    writeFileSync(store.blobPath(HELLO_DIGEST), bytes);
    const read = readAll(await store.reader(HELLO_DIGEST));
    await expect(read).rejects.toMatchObject({
      code: 'digest-mismatch',
      message: `stored blob ${HELLO_DIGEST} is damaged (its bytes hash to ${digestOf(bytes)}) and was removed; the next pull or build fetches or makes it again`,
    });
    expect(await store.info(HELLO_DIGEST)).toBeUndefined();
    await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST, size: HELLO.length });
    expect(await readAll(await store.reader(HELLO_DIGEST))).toEqual(HELLO);
  });

  it('a damaged gzip blob that breaks decompression first is reported as damaged, not as a zlib error', async () => {
    const store = new LocalContentStore(tempDir());
    // Text, so the deflate data has codes a flipped bit breaks; large, so zlib fails long before the end.
    const gz = gzipSync(Buffer.from(Array.from({ length: 400_000 }, (_, i) => `line ${i} ${(i * 7919) % 1000}\n`).join('')));
    const digest = digestOf(gz);
    await store.ingest(Readable.from([gz]), { digest });
    const damaged = Buffer.from(gz);
    damaged[20] = (damaged[20] ?? 0) ^ 0x01; // in the first block's code lengths: zlib fails at once
    writeFileSync(store.blobPath(digest), damaged);
    const failed = await pipeline(await store.reader(digest), createGunzip(), new Writable({ write: (_c, _e, done) => done() })).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((failed as NodeJS.ErrnoException).code).toBe('Z_DATA_ERROR');
    await expect(readFailure(store, digest, failed)).resolves.toMatchObject({
      code: 'digest-mismatch',
      message: `stored blob ${digest} is damaged (its bytes hash to ${digestOf(damaged)}) and was removed; the next pull or build fetches or makes it again`,
    });
    expect(await store.info(digest)).toBeUndefined();
    // A failure that is not the blob's (the blob verifies) stays what it was.
    await store.ingest(Readable.from([gz]), { digest });
    const other = new Error('the disk went away');
    expect(await readFailure(store, digest, other)).toBe(other);
  });

  it('a damaged blob replaced by a good copy while it was read is left in place', async () => {
    const store = new LocalContentStore(tempDir());
    await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST });
    writeFileSync(store.blobPath(HELLO_DIGEST), 'hello, CONTENT store\n');
    const reader = await store.reader(HELLO_DIGEST);
    // Another writer renames a good copy into place before the damage is found.
    const good = `${store.blobPath(HELLO_DIGEST)}.good`;
    writeFileSync(good, HELLO);
    renameSync(good, store.blobPath(HELLO_DIGEST));
    await expect(readAll(reader)).rejects.toThrow(
      /^stored blob sha256:[0-9a-f]{64} is damaged \(its bytes hash to sha256:[0-9a-f]{64}\); it has been replaced since$/,
    );
    expect(await readAll(await store.reader(HELLO_DIGEST))).toEqual(HELLO);
  });

  it('a reader its consumer stops early closes the blob file at once', async () => {
    const store = new LocalContentStore(tempDir());
    const bytes = Buffer.alloc(1024 * 1024, 7);
    const digest = digestOf(bytes);
    await store.ingest(Readable.from([bytes]), { digest });
    const openBlobs = (): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).endsWith(digest.slice(7));
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    const reader = await store.reader(digest);
    await new Promise((resolve) => reader.once('data', resolve));
    expect(openBlobs()).toBe(1);
    reader.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(openBlobs()).toBe(0);
  });

  it('leaves nothing behind when a write is aborted', async () => {
    const root = tempDir();
    const store = new LocalContentStore(root);
    const writer = await store.writer();
    writer.stream.write(HELLO);
    await writer.abort();
    expect(readdirSync(path.join(root, 'ingest'))).toEqual([]);
    expect(readdirSync(root)).toEqual(['ingest']);
  });

  it('a writer killed mid-write leaves an ingest file and no blob; cleanIngest removes it', async () => {
    const root = tempDir();
    const script = `
      import { LocalContentStore } from ${JSON.stringify(path.join(projectRoot, 'dist/content/local-store.js'))};
      const writer = await new LocalContentStore(process.argv[1]).writer();
      writer.stream.write(Buffer.alloc(1 << 20, 1), () => process.stdout.write('written\\n'));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const store = new LocalContentStore(root);
    expect(readdirSync(path.join(root, 'ingest'))).toHaveLength(1);
    expect(existsSync(path.join(root, 'blobs'))).toBe(false);
    expect(await store.cleanIngest(0)).toBe(1);
    expect(readdirSync(path.join(root, 'ingest'))).toEqual([]);
  });

  describe('writeback started while a blob is written', () => {
    /** Writes `mib` MiB in 1 MiB writes and commits, noting each sync of the ingest file as it starts and ends. */
    async function writeNoting(mib: number, datasyncError?: Error): Promise<{ events: string[]; result: Promise<unknown>; root: string }> {
      const root = tempDir();
      const probe = await open(path.join(root, 'probe'), 'w');
      const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void>; sync: () => Promise<void> };
      await probe.close();
      const events: string[] = [];
      const { datasync, sync } = proto;
      const datasyncSpy = vi.spyOn(proto, 'datasync').mockImplementation(async function (this: unknown) {
        events.push('datasync');
        if (datasyncError) throw datasyncError;
        await datasync.call(this);
        events.push('datasync done');
      });
      const syncSpy = vi.spyOn(proto, 'sync').mockImplementation(async function (this: unknown) {
        events.push('sync');
        await sync.call(this);
      });
      try {
        const writer = await new LocalContentStore(path.join(root, 'store')).writer();
        const block = Buffer.alloc(1024 * 1024, 7);
        const result = (async () => {
          for (let i = 0; i < mib; i++) await writer.write(block);
          return writer.commit();
        })();
        await result.catch(() => undefined);
        return { events, result, root };
      } finally {
        datasyncSpy.mockRestore();
        syncSpy.mockRestore();
      }
    }

    it('a blob under the threshold: the fsync of the commit only', async () => {
      const { events, result } = await writeNoting(WRITEBACK_EVERY / (1024 * 1024) - 1);
      await expect(result).resolves.toMatchObject({ size: WRITEBACK_EVERY - 1024 * 1024 });
      // The commit's own fsync, then the blobs directory's.
      expect(events).toEqual(['sync', 'sync']);
    });

    it('a large blob: syncs while it is written, each finished before the fsync of the commit', async () => {
      const mib = (3 * WRITEBACK_EVERY) / (1024 * 1024);
      const { events, result } = await writeNoting(mib);
      const block = Buffer.alloc(1024 * 1024, 7);
      await expect(result).resolves.toEqual({ digest: digestOf(Buffer.concat(Array.from({ length: mib }, () => block))), size: 3 * WRITEBACK_EVERY });
      const started = events.filter((e) => e === 'datasync').length;
      expect(started).toBeGreaterThanOrEqual(1);
      expect(started).toBeLessThanOrEqual(3);
      expect(events.filter((e) => e === 'datasync done').length).toBe(started);
      expect(events.slice(-2)).toEqual(['sync', 'sync']);
    });

    it('a failed early sync fails the commit with its error and leaves no blob and no ingest file', async () => {
      const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      const { events, result, root } = await writeNoting((2 * WRITEBACK_EVERY) / (1024 * 1024), eio);
      await expect(result).rejects.toBe(eio);
      expect(events).toEqual(['datasync']);
      expect(readdirSync(path.join(root, 'store', 'ingest'))).toEqual([]);
      expect(existsSync(path.join(root, 'store', 'blobs'))).toBe(false);
    });
  });
});
