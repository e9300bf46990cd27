/**
 * Tar reading, and the header type both directions use. With `tar-writer.ts`, the only importer of
 * `tar-stream`. Entries are streamed, never collected; headers written are deterministic (numeric
 * owners, no user/group names).
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
