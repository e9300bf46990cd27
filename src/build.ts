/**
 * The library façade: from a context directory and options to results. For now it goes as far as the
 * plan (`loadPlan`); pulling, running and exporting build on it in later modules.
 */
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDockerfile } from './dockerfile/parse.js';
import { InvalidArgumentError, NotFoundError } from './errors.js';
import { parsePlatform, platformOf } from './image/platform.js';
import { planBuild } from './plan/plan.js';
import type { BuildPlan } from './plan/types.js';

/** What to plan: the same inputs `tsbuild build` takes. */
export interface PlanRequest {
  /** The build context directory. */
  context: string;
  /** The Dockerfile path; `<context>/Dockerfile` (or `dockerfile`) when absent. */
  dockerfile?: string;
  /** The stage to build; the last one when absent. */
  target?: string;
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** The target platform (`linux/arm64`); the host's when absent. */
  platform?: string;
  /** `--label` values for the final image. */
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

/** The platform this process runs on. */
export function hostPlatform(): ReturnType<typeof platformOf> {
  return platformOf(os.platform(), os.arch());
}

/** Reads the Dockerfile named by `request` and plans the build. */
export async function loadPlan(request: PlanRequest): Promise<BuildPlan> {
  const { file, text } = await readDockerfile(request.context, request.dockerfile, request.signal);
  const df = parseDockerfile(text, { file: displayPath(file) });
  return planBuild(df, {
    buildPlatform: hostPlatform(),
    ...(request.platform === undefined ? {} : { targetPlatform: parsePlatform(request.platform) }),
    ...(request.target === undefined ? {} : { target: request.target }),
    ...(request.buildArgs === undefined ? {} : { buildArgs: request.buildArgs }),
    ...(request.labels === undefined ? {} : { labels: request.labels }),
  });
}

/** Finds and reads the Dockerfile: `-f` as given, else `Dockerfile`, else lowercase `dockerfile`. */
async function readDockerfile(context: string, dockerfile: string | undefined, signal?: AbortSignal): Promise<{ file: string; text: string }> {
  const contextStat = await stat(context).catch(() => undefined);
  if (!contextStat?.isDirectory()) throw new NotFoundError(`build context "${context}" is not a directory`);
  const candidates = dockerfile !== undefined ? [dockerfile] : [path.join(context, 'Dockerfile'), path.join(context, 'dockerfile')];
  for (const file of candidates) {
    try {
      return { file, text: await readFile(file, { encoding: 'utf8', ...(signal ? { signal } : {}) }) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'EISDIR') throw new InvalidArgumentError(`Dockerfile "${file}" is a directory`);
      throw err;
    }
  }
  throw new NotFoundError(`failed to read Dockerfile: ${candidates[0]} does not exist`, {
    hint: dockerfile === undefined ? `add a Dockerfile to ${context} or name one with -f` : undefined,
  });
}

/** A path as the user would write it: relative to the working directory when inside it. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
