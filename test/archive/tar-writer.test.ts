/**
 * The tar writer writes exactly the bytes tar-stream's `pack()` writes for the same entries (the
 * writer before it was `pack()` itself, so layers keep their digests), and fails where `pack()`
 * failed: a body of the wrong size, a consumer that went away.
 */
import { chmodSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { TarHeader } from '../../src/archive/tar.js';
import { TarWriter } from '../../src/archive/tar-writer.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-tar-writer-');

const T = new Date(1_700_000_000_123);
const base = { mode: 0o644, uid: 0, gid: 0, mtime: T };

/** Entries with their bodies: a string body is a small file given whole, a number a streamed body of that many bytes. */
const cases: Array<[string, TarHeader, string | number | undefined]> = [
  ['empty file', { ...base, name: 'a', type: 'file', size: 0 }, ''],
  ['small file', { ...base, name: 'dir/b.txt', type: 'file', uid: 1000, gid: 1001 }, 'hello\n'],
  ['file of exactly one block', { ...base, name: 'c', type: 'file' }, 'x'.repeat(512)],
  ['streamed file, not a block multiple', { ...base, name: 'big', type: 'file', size: 3 * 1024 * 1024 + 7 }, 3 * 1024 * 1024 + 7],
  ['streamed file under the direct size', { ...base, name: 'mid', type: 'file', size: 1000 }, 1000],
  ['directory', { ...base, name: 'dir/', type: 'directory', mode: 0o755 }, undefined],
  ['setuid and sticky modes', { ...base, name: 'suid', type: 'file', mode: 0o4755 }, 'y'],
  ['whiteout with mode 0 (pack writes 0644)', { ...base, name: 'dir/.wh.gone', type: 'file', mode: 0, size: 0, mtime: new Date(0) }, undefined],
  ['directory with mode 0 (pack writes 0755)', { ...base, name: 'zero/', type: 'directory', mode: 0 }, undefined],
  ['symlink', { ...base, name: 'lnk', type: 'symlink', mode: 0o777, linkname: '../target' }, undefined],
  ['hard link', { ...base, name: 'hard', type: 'link', linkname: 'dir/b.txt' }, undefined],
  ['character device', { ...base, name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 }, undefined],
  ['block device', { ...base, name: 'dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 }, undefined],
  ['fifo', { ...base, name: 'pipe', type: 'fifo' }, undefined],
  ['name over 100 bytes (ustar prefix)', { ...base, name: `${'d'.repeat(90)}/${'f'.repeat(90)}`, type: 'file' }, 'p'],
  ['name no prefix can hold (PAX path)', { ...base, name: 'n'.repeat(180), type: 'file' }, 'q'],
  ['non-ASCII name (PAX path)', { ...base, name: 'été/ünï.txt', type: 'file' }, 'u'],
  ['long symlink target (PAX linkpath)', { ...base, name: 'far', type: 'symlink', linkname: 't/'.repeat(80) }, undefined],
  ['xattrs (PAX records)', { ...base, name: 'cap', type: 'file', xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0, 0x20]) } }, 'z'],
  ['xattrs on a directory', { ...base, name: 'xd/', type: 'directory', mode: 0o755, xattrs: { 'user.a': Buffer.from('1') } }, undefined],
  ['large uid and gid', { ...base, name: 'own', type: 'file', uid: 2_000_000, gid: 65534 }, 'o'],
];

function bodyOf(spec: string | number | undefined): Buffer | Readable | undefined {
  if (spec === undefined) return undefined;
  if (typeof spec === 'string') return Buffer.from(spec);
  const bytes = Buffer.alloc(spec);
  for (let i = 0; i < spec; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return Readable.from([bytes.subarray(0, 70_000), bytes.subarray(70_000, 70_100), bytes.subarray(70_100)].filter((b) => b.length > 0));
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What tar-stream's pack() writes for the entries, as the writer before this one called it. */
async function packBytes(entries: Array<[TarHeader, string | number | undefined]>): Promise<Buffer> {
  const pack = tar.pack();
  const out = collect(Readable.from(pack, { objectMode: false }));
  for (const [header, spec] of entries) {
    const pax: Record<string, string> = {};
    for (const [key, value] of Object.entries(header.xattrs ?? {})) pax[`SCHILY.xattr.${key}`] = value.toString('latin1');
    const h = {
      name: header.name,
      type: header.type,
      mode: header.mode,
      uid: header.uid,
      gid: header.gid,
      uname: '',
      gname: '',
      mtime: header.mtime,
      size: header.type === 'file' ? (header.size ?? 0) : 0,
      ...(header.linkname !== undefined ? { linkname: header.linkname } : {}),
      ...(header.devmajor !== undefined ? { devmajor: header.devmajor, devminor: header.devminor ?? 0 } : {}),
      ...(Object.keys(pax).length > 0 ? { pax } : {}),
    };
    const body = bodyOf(spec);
    await new Promise<void>((resolve, reject) => {
      if (Buffer.isBuffer(body)) {
        pack.entry({ ...h, size: body.length }, body, (err) => (err ? reject(err) : resolve()));
        return;
      }
      const sink = pack.entry(h, (err) => (err ? reject(err) : resolve())) as unknown as Writable;
      if (body) body.on('data', (chunk: Buffer) => sink.write(chunk)).on('end', () => sink.end());
      else sink.end();
    });
  }
  pack.finalize();
  return out;
}

async function writerBytes(entries: Array<[TarHeader, string | number | undefined]>): Promise<Buffer> {
  const writer = new TarWriter();
  const out = collect(writer.stream);
  for (const [header, spec] of entries) await writer.add(header, bodyOf(spec));
  await writer.finish();
  return out;
}

/**
 * The same through a sink, a streamed body given as a file (`addFile`), a small file's body as a
 * file too (`addSmallFile`) unless `smallAsFiles` is false. The sink copies what it is given and
 * hands it back late: the writer may reuse a buffer only after that.
 */
async function sinkBytes(entries: Array<[TarHeader, string | number | undefined]>, dir: string, smallAsFiles = true): Promise<Buffer> {
  const got: Buffer[] = [];
  const writer = TarWriter.toSink(async (chunk) => {
    const copy = Buffer.from(chunk);
    await new Promise((resolve) => setImmediate(resolve));
    // Still what it was when given: the writer did not fill this buffer again meanwhile.
    expect(chunk.equals(copy)).toBe(true);
    got.push(copy);
  });
  for (const [i, [header, spec]] of entries.entries()) {
    const body = bodyOf(spec);
    const file = path.join(dir, `body-${i}`);
    if (body instanceof Readable) {
      writeFileSync(file, await collect(body));
      await writer.addFile(header, file);
    } else if (body && header.type === 'file' && smallAsFiles) {
      writeFileSync(file, body);
      await writer.addSmallFile({ ...header, size: body.length }, file);
    } else await writer.add(header, body);
  }
  await writer.finish();
  return Buffer.concat(got);
}

describe('TarWriter', () => {
  it.each(cases)('%s: the bytes pack() writes', async (_name, header, body) => {
    const ours = await writerBytes([[header, body]]);
    expect(ours.length % 512).toBe(0);
    expect(ours.equals(await packBytes([[header, body]]))).toBe(true);
  });

  it.each(cases)('%s, through a sink: the bytes pack() writes', async (_name, header, body) => {
    expect((await sinkBytes([[header, body]], tempDir())).equals(await packBytes([[header, body]]))).toBe(true);
  });

  it('through a sink, files of 0 to 3 blocks and around them: the bytes pack() writes', async () => {
    const MiB = 1024 * 1024;
    const entries: Array<[TarHeader, string | number | undefined]> = [0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 5].map((size, i) => [
      { ...base, name: `sized/${i}`, type: 'file', size },
      size,
    ]);
    const ours = await sinkBytes(entries, tempDir());
    expect(ours.equals(await packBytes(entries))).toBe(true);
  });

  it('through a sink, 3,000 small files read into the chunks, with every case between them: the bytes pack() writes', async () => {
    const entries: Array<[TarHeader, string | number | undefined]> = [];
    for (let i = 0; i < 3000; i++) {
      entries.push([{ ...base, name: `many/f${i}`, type: 'file' }, `file ${i}\n`.repeat(i % 50)]);
      const [, header, body] = cases[i % cases.length] as (typeof cases)[number];
      if (i % 100 === 0) entries.push([{ ...header, name: `${i}-${header.name}` }, body]);
    }
    // Files of 256 KiB (the largest small file) cross the end of a chunk; one with 24 xattrs of
    // 60,000 bytes is larger than the whole buffer entries are gathered in (it goes as add() sends it).
    for (let i = 0; i < 12; i++) entries.push([{ ...base, name: `full/f${i}`, type: 'file' }, String(i % 10).repeat(256 * 1024 - i)]);
    const xattrs = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`user.big${i}`, Buffer.alloc(60_000, i)]));
    entries.push([{ ...base, name: 'full/xattrs', type: 'file', xattrs }, 'x'.repeat(256 * 1024)]);
    entries.push([{ ...base, name: 'full/after', type: 'file' }, 'after\n']);
    const ours = await sinkBytes(entries, tempDir());
    expect(ours.length).toBe((await packBytes(entries)).length);
    expect(ours.equals(await packBytes(entries))).toBe(true);
  });

  it.each([
    ['shorter', 'x'.repeat(10)],
    ['longer', 'x'.repeat(30)],
    ['empty', ''],
  ])('through a sink, a small file now %s than its header says: written as it is now, as add() writes the bytes it is given', async (_name, now) => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, now);
    const got: Buffer[] = [];
    const writer = TarWriter.toSink(async (chunk) => void got.push(Buffer.from(chunk)));
    await writer.addSmallFile({ ...base, name: 'f', type: 'file', size: 20 }, file);
    await writer.addSmallFile({ ...base, name: 'g', type: 'file', size: 3 }, file);
    await writer.finish();
    const expected = await packBytes([
      [{ ...base, name: 'f', type: 'file' }, now],
      [{ ...base, name: 'g', type: 'file' }, now],
    ]);
    expect(Buffer.concat(got).equals(expected)).toBe(true);
  });

  it('without a sink, addSmallFile reads the file whole: the bytes pack() writes', async () => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, 'hello\n');
    const writer = new TarWriter();
    const out = collect(writer.stream);
    await writer.addSmallFile({ ...base, name: 'f', type: 'file', size: 6 }, file);
    await writer.finish();
    expect((await out).equals(await packBytes([[{ ...base, name: 'f', type: 'file' }, 'hello\n']]))).toBe(true);
  });

  it('through a sink, a small file is read without moving its access time', async () => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, 'hello\n');
    utimesSync(file, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    // A change time newer than the access time: a plain read would move it (relatime).
    chmodSync(file, 0o600);
    const writer = TarWriter.toSink(async () => undefined);
    await writer.addSmallFile({ ...base, name: 'f', type: 'file', size: 6 }, file);
    await writer.finish();
    expect(statSync(file).atime.toISOString()).toBe('2020-01-01T00:00:00.000Z');
  });

  it('through a sink, a small file that is gone: ENOENT naming it', async () => {
    const file = path.join(tempDir(), 'gone');
    const writer = TarWriter.toSink(async () => undefined);
    await expect(writer.addSmallFile({ ...base, name: 'gone', type: 'file', size: 3 }, file)).rejects.toMatchObject({ code: 'ENOENT', path: file });
  });

  it.each([
    ['shorter', 10, 'f changed while it was written to the archive: 10 bytes where it had 20'],
    ['longer', 30, 'f changed while it was written to the archive: 30 bytes where it had 20'],
  ])('through a sink, a file %s than its header says fails the entry', async (_name, actual, message) => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, Buffer.alloc(actual));
    const writer = TarWriter.toSink(async () => undefined);
    await expect(writer.addFile({ ...base, name: 'f', type: 'file', size: 20 }, file)).rejects.toThrow(message);
  });

  it('a sink that fails stops the writer: addFile rejects with its error and closes the file', async () => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, Buffer.alloc(3 * 1024 * 1024));
    const writer = TarWriter.toSink(async () => Promise.reject(new Error('disk full')));
    await expect(writer.addFile({ ...base, name: 'f', type: 'file', size: 3 * 1024 * 1024 }, file)).rejects.toThrow('disk full');
  });

  it('a whole archive of every case, and 3,000 small files: the bytes pack() writes', async () => {
    const entries: Array<[TarHeader, string | number | undefined]> = cases.map(([, header, body]) => [header, body]);
    for (let i = 0; i < 3000; i++) entries.push([{ ...base, name: `many/f${i}`, type: 'file' }, `file ${i}\n`.repeat(i % 50)]);
    const ours = await writerBytes(entries);
    expect(ours.length).toBe((await packBytes(entries)).length);
    expect(ours.equals(await packBytes(entries))).toBe(true);
  });

  it.each([
    ['shorter', 10, 'f changed while it was written to the archive: 10 bytes where it had 20'],
    ['longer', 30, 'f changed while it was written to the archive: 30 bytes where it had 20'],
  ])('a streamed body %s than its header says fails the entry', async (_name, actual, message) => {
    const writer = new TarWriter();
    writer.stream.resume();
    await expect(writer.add({ ...base, name: 'f', type: 'file', size: 20 }, Readable.from([Buffer.alloc(actual)]))).rejects.toThrow(message);
  });

  it('a consumer that fails stops the writer: the next add rejects with its error', async () => {
    const writer = new TarWriter();
    const failing = new Writable({ write: (_chunk, _encoding, done) => done(new Error('disk full')) });
    const flowing = pipeline(writer.stream, failing);
    const adding = (async () => {
      for (let i = 0; i < 100; i++) await writer.add({ ...base, name: `f${i}`, type: 'file' }, Buffer.alloc(64 * 1024));
    })();
    await expect(flowing).rejects.toThrow('disk full');
    await expect(adding).rejects.toThrow('disk full');
  });

  it('waits for a slow consumer: no more than two chunks are buffered ahead', async () => {
    const writer = new TarWriter();
    let added = 0;
    const adding = (async () => {
      for (; added < 64; added++) await writer.add({ ...base, name: `f${added}`, type: 'file' }, Buffer.alloc(256 * 1024));
      await writer.finish();
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // 1 MiB chunks against a 1 MiB high-water mark: the writer stops after a few entries.
    expect(added).toBeLessThan(16);
    const bytes = await collect(writer.stream);
    await adding;
    expect(added).toBe(64);
    expect(bytes.length).toBe(64 * (512 + 256 * 1024) + 1024);
  });
});
