/**
 * ADD's remote sources: HTTP(S) URLs and git repositories, fetched into a temporary directory.
 * URLs: the file name is the last element of the URL path (`__unnamed__` for none), the mtime is
 * `Last-Modified` (or the epoch), `--checksum=sha256:…` is verified. Git: `repo.git#ref:subdir`
 * and the `?ref=&branch=&tag=&commit=&subdir=&keep-git-dir=` query, checked out with `git`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { promisify } from 'node:util';
import { InvalidArgumentError, UnavailableError } from '../errors.js';

const run = promisify(execFile);

/** What kind of source an ADD argument is. */
export function sourceKind(source: string): 'git' | 'http' | 'local' {
  if (/^(git@[^:]+:|ssh:\/\/|git:\/\/)/.test(source)) return 'git';
  if (/^https?:\/\//.test(source)) {
    const pathname = (() => {
      try {
        return new URL(source).pathname;
      } catch {
        return '';
      }
    })();
    return pathname.endsWith('.git') ? 'git' : 'http';
  }
  return 'local';
}

/** Downloads `url` into `dir`; returns the file and the name it is added under. */
export async function fetchUrl(
  url: string,
  dir: string,
  options: { checksum?: string; signal?: AbortSignal } = {},
): Promise<{ file: string; name: string }> {
  const expected = options.checksum === undefined ? undefined : parseSha256(options.checksum);
  const response = await fetch(url, {
    headers: { 'User-Agent': 'tsbuild/0.1 (compatible; buildkit/v0)' },
    ...(options.signal ? { signal: options.signal } : {}),
  }).catch((err: unknown) => {
    throw new UnavailableError(`ADD ${url}: ${(err as Error).message}`, { cause: err });
  });
  if (!response.ok || !response.body) throw new UnavailableError(`ADD ${url}: HTTP ${response.status} ${response.statusText}`);
  const name = path.posix.basename(new URL(url).pathname) || '__unnamed__';
  const file = path.join(dir, `url-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`);
  const hash = createHash('sha256');
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  const actual = hash.digest('hex');
  if (expected !== undefined && actual !== expected) {
    await rm(file, { force: true });
    throw new InvalidArgumentError(`ADD ${url}: checksum mismatch: expected sha256:${expected}, got sha256:${actual}`);
  }
  const lastModified = Date.parse(response.headers.get('last-modified') ?? '');
  const mtime = new Date(Number.isFinite(lastModified) ? lastModified : 0);
  await utimes(file, mtime, mtime);
  return { file, name };
}

function parseSha256(checksum: string): string {
  const match = /^sha256:([a-f0-9]{64})$/.exec(checksum);
  if (!match) throw new InvalidArgumentError(`invalid checksum "${checksum}": expected sha256:<64 hex digits>`);
  return match[1] ?? '';
}

/** A parsed git source. */
export interface GitSource {
  remote: string;
  ref?: string;
  subdir?: string;
  keepGitDir: boolean;
}

/** Parses `https://host/repo.git#ref:subdir` and its query parameters. */
export function parseGitSource(source: string, keepGitDirFlag: boolean): GitSource {
  const [base = '', fragment] = source.split('#', 2);
  let remote = base;
  const query = new URLSearchParams(base.includes('?') ? base.slice(base.indexOf('?') + 1) : '');
  if (base.includes('?')) remote = base.slice(0, base.indexOf('?'));
  const [fragmentRef, fragmentSubdir] = (fragment ?? '').split(':', 2);
  const queryRef = query.get('ref') ?? query.get('branch') ?? query.get('tag') ?? query.get('commit') ?? undefined;
  if (fragmentRef && queryRef && fragmentRef !== queryRef)
    throw new InvalidArgumentError(`ref conflicts: "${fragmentRef}" and "${queryRef}" in ${source}`);
  const ref = fragmentRef || queryRef;
  const subdir = fragmentSubdir || query.get('subdir') || undefined;
  const keep = query.get('keep-git-dir');
  return { remote, ...(ref ? { ref } : {}), ...(subdir ? { subdir } : {}), keepGitDir: keepGitDirFlag || keep === 'true' || keep === '1' };
}

/** Clones `git` into `dir` (checked out at its ref); returns the directory to copy from. */
export async function checkoutGit(git: GitSource, dir: string, checksum?: string): Promise<string> {
  const git_ = (args: string[], cwd?: string): Promise<{ stdout: string }> =>
    run('git', args, { ...(cwd ? { cwd } : {}), env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }).catch(
      (err: { stderr?: string; message: string }) => {
        throw new UnavailableError(`git ${args[0]} ${git.remote} failed: ${(err.stderr ?? err.message).trim()}`);
      },
    );
  await git_(['clone', '--quiet', '--no-checkout', git.remote, dir]);
  await git_(['checkout', '--quiet', '--detach', git.ref ?? 'HEAD'], dir).catch(async () => {
    throw new InvalidArgumentError(`repository ${git.remote} does not contain ref ${git.ref}`);
  });
  if (checksum !== undefined) {
    if (!/^[0-9a-f]{4,64}$/.test(checksum)) throw new InvalidArgumentError(`invalid checksum ${checksum}: expected hex commit hash`);
    const head = (await git_(['rev-parse', 'HEAD'], dir)).stdout.trim();
    if (!head.startsWith(checksum)) throw new InvalidArgumentError(`expected checksum to match ${checksum}, got ${head}`);
  }
  if (!git.keepGitDir) await rm(path.join(dir, '.git'), { recursive: true, force: true });
  return git.subdir ? path.join(dir, path.normalize(`/${git.subdir}`)) : dir;
}
