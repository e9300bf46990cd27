import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { digestOf, parseDigest } from '../../src/digest/digest.js';
import { DigestMismatchError } from '../../src/digest/hashing.js';
import { projectRoot } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';
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

  it('fails a read when the bytes on disk were changed', async () => {
    const store = new LocalContentStore(tempDir());
    await store.ingest(Readable.from([HELLO]), { digest: HELLO_DIGEST });
    writeFileSync(store.blobPath(HELLO_DIGEST), 'hello, CONTENT store\n');
    await expect(readAll(await store.reader(HELLO_DIGEST))).rejects.toBeInstanceOf(DigestMismatchError);
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
});
