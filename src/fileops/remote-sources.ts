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
import { promisify } from 'node:util';
import { sha256Hex } from '../digest/digest.js';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import { httpFetch } from '../http/http-fetch.js';
import { describeNetworkError } from '../http/network-errors.js';
import { missingTool } from '../util/tool-runner.js';
import { resolveInRoot } from './resolve.js';

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
  options: { checksum?: string; signal?: AbortSignal; /** What errors name (default `ADD <url>`). */ label?: string } = {},
): Promise<{ file: string; name: string }> {
  const label = options.label ?? `ADD ${url}`;
  const expected = options.checksum === undefined ? undefined : parseSha256(options.checksum);
  const response = await httpFetch(url, {
    headers: { 'User-Agent': 'tsbuild/0.1 (compatible; buildkit/v0)' },
    ...(options.signal ? { signal: options.signal } : {}),
  }).catch((err: unknown) => {
    if (options.signal?.aborted) throw err;
    throw new UnavailableError(`${label}: ${describeNetworkError(err)}`, { cause: err });
  });
  if (!response.ok || !response.body) throw new UnavailableError(`${label}: HTTP ${response.status} ${response.statusText}`);
  const name = path.posix.basename(new URL(url).pathname) || '__unnamed__';
  const file = path.join(dir, `url-${sha256Hex(url).slice(0, 16)}`);
  const hash = createHash('sha256');
  const body = Readable.fromWeb(response.body);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  const actual = hash.digest('hex');
  if (expected !== undefined && actual !== expected) {
    await rm(file, { force: true });
    throw new InvalidArgumentError(`${label}: checksum mismatch: expected sha256:${expected}, got sha256:${actual}`);
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

/** A checked-out repository: the directory to read (the subdirectory when one was asked) and its commit. */
export interface GitCheckout {
  root: string;
  commit: string;
}

/**
 * Fetches only the asked ref of `git` into `dir` (`--depth 1`, as BuildKit's git source does), or
 * the whole repository when the server refuses a shallow fetch of it (an abbreviated commit, a
 * server without shallow support), and checks it out detached. `.git` goes unless kept.
 */
export async function cloneGit(git: GitSource, dir: string, options: { checksum?: string; signal?: AbortSignal } = {}): Promise<GitCheckout> {
  const git_ = (args: string[], cwd = dir): Promise<{ stdout: string }> =>
    run('git', args, {
      cwd,
      // No prompt for credentials and no system or user config (hooks, url rewrites, helpers).
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      maxBuffer: 1 << 20,
      ...(options.signal ? { signal: options.signal } : {}),
    }).catch((err: { stderr?: string; message: string; code?: string }) => {
      if (err.code === 'ENOENT') throw missingTool('git');
      if (options.signal?.aborted) throw options.signal.reason;
      const detail = (err.stderr ?? err.message).trim().split('\n').pop() ?? '';
      throw new UnavailableError(`git ${args[0]} ${git.remote} failed: ${detail}`);
    });
  const ref = git.ref ?? 'HEAD';
  await git_(['init', '--quiet', dir], path.dirname(dir));
  await git_(['remote', 'add', 'origin', git.remote]);
  const shallow = await git_(['fetch', '--quiet', '--depth=1', '--no-tags', 'origin', ref]).then(
    () => true,
    () => false,
  );
  if (shallow) await git_(['checkout', '--quiet', '--detach', 'FETCH_HEAD']);
  else {
    await git_(['fetch', '--quiet', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
    await git_(['checkout', '--quiet', '--detach', git.ref === undefined ? 'origin/HEAD' : git.ref]).catch(async () => {
      if (git.ref === undefined) return git_(['checkout', '--quiet', '--detach', 'FETCH_HEAD']);
      // Neither a commit, a tag nor a branch: that is the one line below, git's own words add nothing.
      const remote = await git_(['checkout', '--quiet', '--detach', `origin/${git.ref}`]).catch(() => undefined);
      if (!remote) throw new InvalidArgumentError(`repository ${git.remote} does not contain ref ${git.ref}`);
      return remote;
    });
  }
  const commit = (await git_(['rev-parse', 'HEAD'])).stdout.trim();
  if (options.checksum !== undefined) {
    if (!/^[0-9a-f]{4,64}$/.test(options.checksum)) throw new InvalidArgumentError(`invalid checksum ${options.checksum}: expected hex commit hash`);
    if (!commit.startsWith(options.checksum)) throw new InvalidArgumentError(`expected checksum to match ${options.checksum}, got ${commit}`);
  }
  if (!git.keepGitDir) await rm(path.join(dir, '.git'), { recursive: true, force: true });
  // The subdirectory is resolved inside the checkout: a symlink in a hostile repository leads nowhere else.
  return { root: git.subdir ? await resolveInRoot(dir, git.subdir) : dir, commit };
}

/** Clones `git` into `dir` (checked out at its ref); returns the directory to copy from. */
export async function checkoutGit(git: GitSource, dir: string, checksum?: string): Promise<string> {
  return (await cloneGit(git, dir, checksum === undefined ? {} : { checksum })).root;
}
