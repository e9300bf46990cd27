/**
 * An index file of named records, `{ "version": 1, "<field>": { "<key>": { … }, … } }`, written
 * whole (two-space indentation) and atomically under a cross-process lock: the image index and
 * the snapshot metadata. Damage (a crash mid-write on a disk that reorders writes, a flipped byte,
 * a hand edit) costs the records it touches, not the whole store: the file is set aside
 * (`util/set-aside.ts`), the records that still parse and pass `check` are kept (found line by
 * line when the file as a whole no longer parses), `settle` drops those that cannot stand without
 * a lost one, and one warning names what was lost.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { readOwnTextIfExists } from './absent.js';
import { writeFileAtomic } from './atomic-write.js';
import { withFileLock } from './file-lock.js';
import { isObject, parseJson, setAside, type Warn } from './set-aside.js';

export type Records<R> = Record<string, R>;

export interface RecordFileOptions<R> {
  /** The member holding the records (`images`, `snapshots`). */
  field: string;
  /** The record member that repeats its key (`name`, `key`), to name records too damaged to read. */
  keyField: string;
  /** Accepts a record stored under `key`. */
  check: (value: unknown, key: string) => value is R;
  /** Removes records that cannot stand without lost ones (a snapshot whose parent is gone). */
  settle?: (records: Records<R>) => void;
  /** What the file is, for the warning (`the image index`). */
  what: string;
  /** What losing these keys means, for the warning; `aside` is the set-aside file's name. */
  consequence: (lost: readonly string[], aside: string | undefined) => string;
  warn: Warn;
}

type Decoded<R> = { records: Records<R> } | { reason: string };

export class RecordFile<R> {
  constructor(
    readonly file: string,
    private readonly options: RecordFileOptions<R>,
  ) {}

  /** The records; a damaged file is repaired first (under the lock). */
  async read(): Promise<Records<R>> {
    const decoded = this.decode(await readOwnTextIfExists(this.file));
    if ('records' in decoded) return decoded.records;
    return this.locked(() => this.readLocked());
  }

  /** Applies `change` to the records under the lock and saves them; resolves to `change`'s value. */
  async update<T>(change: (records: Records<R>) => T | Promise<T>): Promise<T> {
    return this.locked(async () => {
      const records = await this.readLocked();
      const result = await change(records);
      await this.write(records);
      return result;
    });
  }

  /** Runs `fn` holding the file's lock. */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    mkdirSync(path.dirname(this.file), { recursive: true });
    return withFileLock(this.file, fn);
  }

  /** The records, read under the lock: a damaged file is set aside and what survives written back. */
  private async readLocked(): Promise<Records<R>> {
    const text = await readOwnTextIfExists(this.file);
    const decoded = this.decode(text);
    if ('records' in decoded) return decoded.records;
    const { records, lost } = this.salvage(text ?? '');
    const aside = await setAside(this.file);
    await this.write(records);
    const { what, consequence, warn } = this.options;
    const kept = Object.keys(records).length;
    const lostText = lost.length === 0 ? 'no record lost' : `lost ${lost.join(', ')}; ${consequence(lost, aside)}`;
    warn(`${what} ${this.file} is corrupt (${decoded.reason})${aside ? `: set aside as ${aside}` : ''}; kept ${kept}, ${lostText}`);
    return records;
  }

  private decode(text: string | undefined): Decoded<R> {
    if (text === undefined) return { records: {} };
    const parsed = parseJson(text);
    if ('error' in parsed) return { reason: parsed.error };
    const { field, check } = this.options;
    const value = parsed.value;
    if (!isObject(value) || value.version !== 1 || !isObject(value[field])) return { reason: `not a version 1 file with "${field}"` };
    const records = value[field];
    const bad = Object.entries(records).find(([key, record]) => !check(record, key));
    if (bad) return { reason: `record ${JSON.stringify(bad[0])} is not what tsbuild writes` };
    return { records: records as Records<R> };
  }

  /**
   * The records that can still be read from a damaged file, and the keys of those that cannot.
   * When the file parses, its records are checked one by one; otherwise they are found by the
   * layout tsbuild writes: a record starts with `    "key": {` and ends with `    }` or `    },`.
   */
  private salvage(text: string): { records: Records<R>; lost: string[] } {
    const { field, keyField, check, settle } = this.options;
    const records: Records<R> = {};
    const named = new Set<string>();
    const parsed = parseJson(text);
    const whole = 'value' in parsed && isObject(parsed.value) && isObject(parsed.value[field]) ? parsed.value[field] : undefined;
    if (whole) {
      for (const [key, record] of Object.entries(whole)) {
        named.add(key);
        if (check(record, key)) records[key] = record;
      }
    } else {
      const lines = text.split('\n');
      const keyLine = new RegExp(`^ {6}"${keyField}": ("(?:[^"\\\\]|\\\\.)*"),?$`);
      for (let i = 0; i < lines.length; i++) {
        const mention = keyLine.exec(lines[i] ?? '')?.[1];
        const mentioned = mention === undefined ? undefined : parseJson(mention);
        if (mentioned && 'value' in mentioned && typeof mentioned.value === 'string') named.add(mentioned.value);
        const start = /^ {4}("(?:[^"\\]|\\.)*"): \{$/.exec(lines[i] ?? '');
        if (!start?.[1]) continue;
        const key = parseJson(start[1]);
        const end = lines.findIndex((line, j) => j > i && /^ {4}\},?$/.test(line));
        if (!('value' in key) || typeof key.value !== 'string' || end < 0) continue;
        named.add(key.value);
        const body = parseJson(`{${lines.slice(i + 1, end).join('\n')}}`);
        if ('value' in body && check(body.value, key.value)) records[key.value] = body.value;
      }
    }
    settle?.(records);
    return { records, lost: [...named].filter((key) => key !== '' && !(key in records)).sort() };
  }

  private async write(records: Records<R>): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, [this.options.field]: records }, null, 2)}\n`);
  }
}
