/**
 * Where blobs are known to live in registries (containerd's `distribution.source` labels): each
 * blob digest → the `domain/repository` names it was pulled from or pushed to. A push looks here
 * for a repository of the same registry to mount a blob from instead of uploading it. A damaged
 * file is set aside with a warning: pushes then upload what they would have mounted.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { withFileLock } from '../util/file-lock.js';
import { ignoreWarnings, isObject, readJsonOrSetAside, type Warn } from '../util/set-aside.js';

/** Keeps at most this many repositories per blob (the most recent). */
const MAX_SOURCES = 8;

function isSources(value: unknown): value is Record<string, string[]> {
  return isObject(value) && Object.values(value).every((list) => Array.isArray(list) && list.every((s) => typeof s === 'string'));
}

export class BlobSources {
  private readonly file: string;

  /** `warn`: told when the file is damaged and set aside. */
  constructor(
    root: string,
    private readonly warn: Warn = ignoreWarnings,
  ) {
    this.file = path.join(root, 'blob-sources.json');
  }

  /** Repository paths on `domain` known to hold `digest`, most recent first. */
  async repositories(digest: string, domain: string): Promise<string[]> {
    const sources = (await this.read())[digest] ?? [];
    return sources.filter((s) => s.startsWith(`${domain}/`)).map((s) => s.slice(domain.length + 1));
  }

  /** Records that the repository `domain/path` holds each of `digests`. */
  async add(digests: readonly string[], domain: string, repository: string): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const name = `${domain}/${repository}`;
    await withFileLock(this.file, async () => {
      const all = await this.read();
      for (const digest of digests) all[digest] = [name, ...(all[digest] ?? []).filter((s) => s !== name)].slice(0, MAX_SOURCES);
      await writeFileAtomic(this.file, JSON.stringify(all));
    });
  }

  private async read(): Promise<Record<string, string[]>> {
    const stored = await readJsonOrSetAside(this.file, isSources, {
      what: 'the blob sources record',
      consequence: 'pushes upload what they could have mounted from another repository',
      warn: this.warn,
    });
    return stored ?? {};
  }
}
