/**
 * What goes into a step's cache key: its definition (everything that changes the result, nothing
 * that does not — no progress names, line numbers, proxy args or secret values) and the content
 * checksums of build-context files it reads.
 */
import { contextTree, type BuildContext } from '../context/build-context.js';
import { parseDockerignore } from '../context/dockerignore.js';
import { ChecksumCache, checksumSources } from '../fileops/checksum.js';
import { sourceKind } from '../fileops/remote-sources.js';
import { formatPlatform, type Platform } from '../image/platform.js';
import type { ExecStep, FileStep, SourceLocation } from '../plan/types.js';

/** The parts of a step's key that are not its parent. */
export interface StepKeyParts {
  definition: unknown;
  /** Other stages or images the step reads, by index or reference (resolved to keys by the caller). */
  reads: SourceLocation[];
  content: string[];
}

/**
 * A RUN's platform is part of its key, as it is of BuildKit's ExecOp: the same command makes other
 * files as another architecture (a scratch stage's RUN has no base digest to tell them apart).
 */
export async function execKeyParts(
  step: ExecStep,
  platform: Platform,
  context: BuildContext | undefined,
  cache: ChecksumCache,
): Promise<StepKeyParts> {
  const content: string[] = [];
  const reads: SourceLocation[] = [];
  for (const m of step.mounts) {
    if (m.type === 'bind' && m.from.kind === 'context' && context) {
      content.push(await checksumSources(contextTree(context), [m.source], { cache }));
      cache.saveSoon();
    } else if ((m.type === 'bind' || m.type === 'cache') && m.from && m.from.kind !== 'context') reads.push(m.from);
  }
  const { args, env, cwd, user, mounts, network, security, files } = step;
  return { definition: { op: 'exec', platform: formatPlatform(platform), args, env, cwd, user, mounts, network, security, files }, reads, content };
}

export async function fileKeyParts(step: FileStep, context: BuildContext | undefined, cache: ChecksumCache): Promise<StepKeyParts> {
  const { action, sources, inline, dest, chown, chmod, link, parents, exclude, checksum, keepGitDir, unpack, env } = step;
  const definition = {
    op: 'file',
    action,
    sources,
    inline,
    dest,
    chown,
    chmod,
    link,
    parents,
    exclude,
    checksum,
    keepGitDir,
    unpack,
    env: inline.some((i) => i.expand) ? env : [],
  };
  const local = sources.filter((s) => sourceKind(s) === 'local');
  const content: string[] = [];
  if (step.from.kind === 'context' && context && local.length > 0) {
    const excludes = exclude.length > 0 ? { exclude: parseDockerignore(exclude.join('\n'), '--exclude') } : {};
    content.push(await checksumSources(contextTree(context), local, { cache, ...excludes }));
    // What the checksum added to the stat cache is written while the step waits for its mount.
    cache.saveSoon();
  }
  return { definition, reads: step.from.kind === 'context' ? [] : [step.from], content };
}
