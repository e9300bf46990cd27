/**
 * Tar reading and writing: the only importer of `tar-stream`. Entries are streamed, never
 * collected; headers written here are deterministic (numeric owners, no user/group names).
 */
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { InvalidArgumentError, TsbuildError } from '../errors.js';

/** A tar entry header, as tsbuild uses it. */
export interface TarHeader {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  mtime: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes (`SCHILY.xattr.*` PAX records). */
  xattrs?: Record<string, Buffer>;
}

/** An extracted entry: its header and, for files, a stream of its bytes (drain it or call `skip`). */
export interface TarEntry {
  header: TarHeader;
  body: Readable;
}

/** Reads entries from a tar stream, one at a time (back-pressure: the next comes after `body` ends). */
export async function* readTar(source: Readable, what = 'the input'): AsyncGenerator<TarEntry> {
  const extract = tar.extract();
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract);
  for await (const entry of withTarErrors(extract, what)) {
    const h = entry.header;
    const pax = (h.pax ?? {}) as Record<string, string>;
    const xattrs: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(pax)) {
      if (key.startsWith('SCHILY.xattr.')) xattrs[key.slice('SCHILY.xattr.'.length)] = Buffer.from(value, 'latin1');
    }
    yield {
      header: {
        name: h.name,
        type: (h.type ?? 'file') as TarHeader['type'],
        mode: (h.mode ?? 0o644) & 0o7777,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size: h.size ?? 0,
        mtime: h.mtime ?? new Date(0),
        ...(h.linkname ? { linkname: h.linkname } : {}),
        ...(h.devmajor !== undefined ? { devmajor: h.devmajor, devminor: h.devminor ?? 0 } : {}),
        ...(Object.keys(xattrs).length > 0 ? { xattrs } : {}),
      },
      // tar-stream speaks streamx; callers get a plain Node stream of bytes.
      body: Readable.from(entry, { objectMode: false }),
    };
    entry.resume();
  }
}

/** tar-stream's own parse errors as tsbuild errors: the input is not (a whole) tar. */
async function* withTarErrors<T>(entries: AsyncIterable<T>, what: string): AsyncGenerator<T> {
  try {
    yield* entries;
  } catch (err) {
    const message = (err as Error).message ?? '';
    if (err instanceof TsbuildError || !/^(Invalid tar header|Unexpected end of data)/.test(message)) throw err;
    throw new InvalidArgumentError(`${what} is not a valid tar archive: ${message}`, { cause: err });
  }
}

/** A tar writer: add entries in order, then `finish()`; `stream` is the tar bytes. */
export class TarWriter {
  private readonly pack = tar.pack();
  /** The tar bytes as a Node stream. */
  readonly stream: Readable = Readable.from(this.pack, { objectMode: false });

  /** Adds an entry; for files, `body` supplies exactly `header.size` bytes (a buffer: a small file whole). */
  async add(header: TarHeader, body?: Readable | Buffer): Promise<void> {
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
    // A failing consumer destroys the pack and its current entry: the error comes back through
    // the entry's callback (and must not be emitted with nobody listening).
    if (Buffer.isBuffer(body)) {
      await new Promise<void>((resolve, reject) => {
        this.pack.entry({ ...h, size: body.length }, body, (err) => (err ? reject(err) : resolve())).on('error', reject);
      });
      return;
    }
    type Sink = ReturnType<typeof this.pack.entry>;
    let sink: Sink | undefined;
    let failed: (err: Error) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      failed = reject;
      sink = this.pack.entry(h, (err) => (err ? reject(err) : resolve()));
      sink.on('error', reject);
    });
    done.catch(() => undefined); // awaited below, after the body is written
    if (!sink) {
      // The pack was already destroyed (its consumer failed): `done` holds why.
      body?.destroy();
      await done;
      return;
    }
    const out = sink;
    if (header.type === 'file' && body) {
      try {
        for await (const chunk of body) {
          // Waiting for room ends too when the entry fails (its consumer is gone).
          if (!out.write(chunk as Buffer)) await Promise.race([new Promise<void>((resolve) => out.once('drain', () => resolve())), done]);
        }
      } catch (err) {
        body.destroy();
        failed(err as Error);
      }
    }
    (out as unknown as { end(): void }).end();
    await done;
  }

  finish(): void {
    this.pack.finalize();
  }

  destroy(err?: Error): void {
    this.pack.destroy(err);
  }
}
