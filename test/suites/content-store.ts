/**
 * The content store conformance suite: what every `ContentStore` must do, through the contract
 * only (containerd's `content/testsuite`). Run by each implementation's test file.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ContentStore } from '../../src/content/store.js';
import { digestOf, parseDigest } from '../../src/digest/digest.js';
import { DigestMismatchError } from '../../src/digest/hashing.js';

const HELLO = Buffer.from('hello, content store\n');
const HELLO_DIGEST = digestOf(HELLO);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listed(store: ContentStore): Promise<Array<{ digest: string; size: number }>> {
  const all: Array<{ digest: string; size: number }> = [];
  for await (const { digest, size } of store.walk()) all.push({ digest, size });
  return all;
}

export function contentStoreSuite(name: string, make: () => ContentStore): void {
  describe(`ContentStore conformance: ${name}`, () => {
    it('ingests a blob and reads it back verified; info and walk list it', async () => {
      const store = make();
      expect(await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST, size: HELLO.length })).toEqual({ digest: HELLO_DIGEST, size: 21 });
      expect(await readAll(await store.reader(HELLO_DIGEST))).toEqual(HELLO);
      expect(await store.readBytes(HELLO_DIGEST)).toEqual(HELLO);
      expect(await store.info(HELLO_DIGEST)).toMatchObject({ digest: HELLO_DIGEST, size: 21 });
      expect(await listed(store)).toEqual([{ digest: HELLO_DIGEST, size: 21 }]);
    });

    it('refuses content that does not match the expected digest or size, and stores nothing', async () => {
      const store = make();
      const wrong = parseDigest(`sha256:${'0'.repeat(64)}`);
      await expect(store.ingest(Readable.from([HELLO]), { digest: wrong })).rejects.toBeInstanceOf(DigestMismatchError);
      await expect(store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST, size: 5 })).rejects.toThrow('has 21 bytes, expected 5');
      expect([await store.info(wrong), await store.info(HELLO_DIGEST), await listed(store)]).toEqual([undefined, undefined, []]);
    });

    it('a writer commits what was written, checked against what was expected', async () => {
      const store = make();
      const writer = await store.writer();
      writer.stream.end(HELLO);
      expect(await writer.commit({ digest: HELLO_DIGEST })).toEqual({ digest: HELLO_DIGEST, size: 21 });
      await expect(writer.commit()).rejects.toThrow('content writer used after commit or abort');
    });

    it('write takes chunks in order and is done with each when it resolves: one buffer filled again and again', async () => {
      const store = make();
      const writer = await store.writer();
      const buffer = Buffer.alloc(4096);
      const all: Buffer[] = [];
      for (let i = 0; i < 50; i++) {
        buffer.fill(i);
        all.push(Buffer.from(buffer));
        await writer.write(buffer);
      }
      const expected = digestOf(Buffer.concat(all));
      expect(await writer.commit({ digest: expected, size: 50 * 4096 })).toEqual({ digest: expected, size: 50 * 4096 });
      expect(await readAll(await store.reader(expected))).toEqual(Buffer.concat(all));
      await expect(writer.write(buffer)).rejects.toThrow('content writer used after commit or abort');
    });

    it('writes given before the ones before them finished are stored in the order given', async () => {
      const store = make();
      const writer = await store.writer();
      // 1 MiB chunks, as a large file's blocks come: each in a buffer of its own, none awaited.
      const chunks = Array.from({ length: 24 }, (_, i) => Buffer.alloc(1024 * 1024 + i, i));
      await Promise.all(chunks.map((chunk) => writer.write(chunk)));
      const expected = digestOf(Buffer.concat(chunks));
      expect(await writer.commit()).toEqual({ digest: expected, size: 24 * 1024 * 1024 + 276 });
      expect((await readAll(await store.reader(expected))).equals(Buffer.concat(chunks))).toBe(true);
    });

    it('an aborted write leaves nothing visible, and hands back the reason it was given', async () => {
      const store = make();
      const writer = await store.writer({ label: 'a test blob' });
      writer.stream.write(HELLO);
      const reason = new Error('the source failed');
      expect(await writer.abort(reason)).toBe(reason);
      expect(await listed(store)).toEqual([]);
    });

    it('verify reads a stored blob whole; a missing one is not found', async () => {
      const store = make();
      await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST });
      await expect(store.verify(HELLO_DIGEST)).resolves.toBeUndefined();
      const missing = digestOf('missing');
      await expect(store.verify(missing)).rejects.toThrow(`blob ${missing} not found in the content store`);
    });

    it('several writers of the same blob at once all succeed', async () => {
      const store = make();
      const results = await Promise.all(Array.from({ length: 8 }, () => store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST })));
      expect(new Set(results.map((r) => r.digest))).toEqual(new Set([HELLO_DIGEST]));
      expect(await listed(store)).toEqual([{ digest: HELLO_DIGEST, size: 21 }]);
    });

    it('refuses to read a large blob into memory, and a missing blob is not found', async () => {
      const store = make();
      await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST });
      await expect(store.readBytes(HELLO_DIGEST, 10)).rejects.toThrow('is 21 bytes, more than the 10 allowed here');
      const missing = digestOf('missing');
      await expect(store.reader(missing)).rejects.toThrow(`blob ${missing} not found in the content store`);
    });

    it('delete removes a blob, and deleting a missing one is no error', async () => {
      const store = make();
      await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST });
      await store.delete(HELLO_DIGEST);
      await store.delete(HELLO_DIGEST);
      expect([await store.info(HELLO_DIGEST), await listed(store)]).toEqual([undefined, []]);
    });
  });
}
