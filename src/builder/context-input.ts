/**
 * The build context as `docker buildx build` takes it, made into a local directory the rest of the
 * build reads like any other: a directory as it is; `-` a tar archive on stdin (or, when stdin is
 * not an archive, a Dockerfile alone with an empty context, as docker decides); a git repository
 * (`https://host/repo.git#ref:subdir`, `git://…`, `git@host:repo`), fetched shallow at its ref with
 * `.git` removed unless the build arg `BUILDKIT_CONTEXT_KEEP_GIT_DIR=1`; any other `http(s)://` URL,
 * downloaded as ADD downloads and extracted when it is an archive, else read as the Dockerfile.
 * Archives go through ADD's extraction (names cleaned, nothing escapes the directory).
 * A Dockerfile on stdin (`-f -`) is written beside, never into, the context; with a remote context
 * `-f` names a file inside it.
 *
 * What is fetched lives in a scratch directory of the state root, so a killed build's leftovers are
 * reclaimed like any other; `close()` removes it.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { statIfExists } from '../util/absent.js';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { extractArchive } from '../fileops/extract.js';
import { resolveInRoot } from '../fileops/resolve.js';
import { cloneGit, fetchUrl, parseGitSource, sourceKind } from '../fileops/remote-sources.js';
import { stateRootPath } from '../state/state-root.js';
import { makeScratch } from '../util/scratch.js';

/** What a context argument names. */
export type ContextKind = 'dir' | 'stdin' | 'git' | 'url';

/** A context ready to build from. */
export interface OpenedContext {
  kind: ContextKind;
  /** The local directory holding the context. */
  dir: string;
  /** The Dockerfile to use when the input decided it (`-f -`, a Dockerfile on stdin or at a URL). */
  dockerfile?: string;
  /** The commit of a git context. */
  commit?: string;
  /** Removes what was fetched (nothing for a directory). */
  close(): Promise<void>;
}

export interface ContextInputOptions {
  /** The state root (its `tmp/` holds what is fetched). */
  root?: string;
  /** Where `-` and `-f -` read from (default: the process's stdin). */
  stdin?: Readable;
  /** `-f`: `-` reads the Dockerfile from stdin. */
  dockerfile?: string;
  /** Build args: `BUILDKIT_CONTEXT_KEEP_GIT_DIR=1` keeps `.git` in a git context. */
  buildArgs?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

/** What kind of context `spec` names. */
export function contextKind(spec: string): ContextKind {
  if (spec === '-') return 'stdin';
  const remote = sourceKind(spec);
  if (remote === 'git') return 'git';
  if (remote === 'http') return 'url';
  return 'dir';
}

/** Makes the context `spec` (and a Dockerfile on stdin) local; the caller closes it. */
export async function openContext(spec: string, options: ContextInputOptions = {}): Promise<OpenedContext> {
  const kind = contextKind(spec);
  const dockerfileOnStdin = options.dockerfile === '-';
  if (kind === 'stdin' && dockerfileOnStdin)
    throw new InvalidArgumentError("invalid argument: can't use stdin for both build context and dockerfile");
  if (kind === 'dir' && !dockerfileOnStdin)
    return { kind, dir: spec, ...(options.dockerfile ? { dockerfile: options.dockerfile } : {}), close: async () => {} };
  const scratch = await makeScratch(stateRootPath(options.root), 'context');
  const close = (): Promise<void> => rm(scratch, { recursive: true, force: true });
  try {
    const opened = await fill(kind, spec, scratch, options);
    // With a remote context, -f names a file inside it (as BuildKit reads it from the context).
    if (options.dockerfile !== undefined && !dockerfileOnStdin) opened.dockerfile = await resolveInRoot(opened.dir, options.dockerfile);
    if (dockerfileOnStdin) opened.dockerfile = await saveStream(stdinOf(options), path.join(scratch, 'stdin', 'Dockerfile'), options.signal);
    return { ...opened, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function fill(kind: ContextKind, spec: string, scratch: string, options: ContextInputOptions): Promise<Omit<OpenedContext, 'close'>> {
  const dir = path.join(scratch, 'context');
  const signal = options.signal ? { signal: options.signal } : {};
  switch (kind) {
    case 'dir':
      return { kind, dir: spec };
    case 'git': {
      const keep = ['1', 'true'].includes(options.buildArgs?.BUILDKIT_CONTEXT_KEEP_GIT_DIR ?? '');
      const checkout = await cloneGit(parseGitSource(spec, keep), dir, signal);
      const info = await statIfExists(checkout.root);
      if (!info?.isDirectory())
        throw new NotFoundError(`unable to prepare context: ${spec}: the subdirectory is not a directory in commit ${checkout.commit}`);
      return { kind, dir: checkout.root, commit: checkout.commit };
    }
    case 'url': {
      const download = path.join(scratch, 'download');
      await mkdir(download);
      const { file } = await fetchUrl(spec, download, { ...signal, label: `unable to prepare context: ${spec}` });
      return archiveOrDockerfile(kind, file, dir);
    }
    case 'stdin': {
      const file = await saveStream(stdinOf(options), path.join(scratch, 'download', 'stdin'), options.signal);
      return archiveOrDockerfile(kind, file, dir);
    }
  }
}

/** An archive becomes the context; anything else is the Dockerfile of an empty context (docker's rule). */
async function archiveOrDockerfile(kind: ContextKind, file: string, dir: string): Promise<Omit<OpenedContext, 'close'>> {
  await mkdir(dir);
  if (await extractArchive(file, dir, '/')) return { kind, dir };
  const dockerfile = path.join(path.dirname(dir), 'Dockerfile');
  // An empty file is no Dockerfile: docker refuses it with the same words.
  if ((await stat(file)).size === 0) throw new InvalidArgumentError('the Dockerfile (Dockerfile) cannot be empty');
  await rename(file, dockerfile);
  return { kind, dir, dockerfile };
}

function stdinOf(options: ContextInputOptions): Readable {
  return options.stdin ?? process.stdin;
}

/** Streams `input` into a new private file `file`. */
async function saveStream(input: Readable, file: string, signal?: AbortSignal): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await pipeline(input, createWriteStream(file, { mode: 0o600 }), ...(signal ? [{ signal }] : []));
  return file;
}

/** The inputs that name a context, as the build, plan and check requests all carry them. */
export interface ContextRequest {
  context: string;
  dockerfile?: string;
  root?: string;
  stdin?: Readable;
  buildArgs?: Record<string, string>;
  signal?: AbortSignal;
}

/** Runs `fn` with `request`'s context made local (`context` a directory, `dockerfile` a file), then closes it. */
export async function withLocalContext<R extends ContextRequest, T>(request: R, fn: (local: R, opened: OpenedContext) => Promise<T>): Promise<T> {
  const opened = await openContext(request.context, {
    ...(request.root === undefined ? {} : { root: request.root }),
    ...(request.stdin === undefined ? {} : { stdin: request.stdin }),
    ...(request.dockerfile === undefined ? {} : { dockerfile: request.dockerfile }),
    ...(request.buildArgs === undefined ? {} : { buildArgs: request.buildArgs }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  });
  try {
    return await fn({ ...request, context: opened.dir, ...(opened.dockerfile === undefined ? {} : { dockerfile: opened.dockerfile }) }, opened);
  } finally {
    await opened.close();
  }
}
