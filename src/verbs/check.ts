/**
 * The library façade of BuildKit's Dockerfile checks (`tsbuild build --call=check`): reads the
 * Dockerfile, looks up the configs of the images its stages start from (the checks read their ENV,
 * SHELL and ONBUILD), runs `lint/` and plans the build so that an error a build would meet is
 * reported too. Nothing is pulled and no step runs: the local store is read, and the registry is
 * asked for manifests and configs only.
 */
import path from 'node:path';
import type { PlanRequest } from './plan.js';
import { registryOptions } from './options.js';
import { displayPath, readDockerfile } from '../context/dockerfile-file.js';
import { withLocalContext } from '../builder/context-input.js';
import { parseDigest } from '../digest/digest.js';
import { DockerfileError } from '../dockerfile/errors.js';
import { parseDockerfile, type Dockerfile } from '../dockerfile/parse.js';
import { InvalidArgumentError, TsbuildError, isNotFound } from '../errors.js';
import type { ImageConfig } from '../image/oci-types.js';
import { formatPlatform, parsePlatform, platformMatches, type Platform } from '../image/platform.js';
import { CheckOptionError, parseCheckOptions, type LintConfig } from '../lint/config.js';
import { CheckConfigError, prepareLint, type LintResult } from '../lint/lint.js';
import { buildOutline, type Outline } from '../lint/outline.js';
import { listTargets, type BuildTarget } from '../lint/targets.js';
import type { BaseImage } from '../lint/stage-walk.js';
import { planBuild } from '../plan/plan.js';
import { contextKey } from '../plan/named-contexts.js';
import { parseBuildContext } from '../builder/named-contexts.js';
import { resolveRemoteImage } from './pull.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { hostPlatform } from '../state/host-platform.js';
import { StateRoot } from '../state/state-root.js';
import type { ProgressSink } from '../progress/events.js';

/** What to check: the inputs of a build. */
export interface CheckRequest extends PlanRequest {
  /** The state directory whose image store is read first. */
  root?: string;
  /** Ask the registry for base images even when they are stored locally (`--pull`). */
  pull?: boolean;
  /**
   * Where base-image configs come from: `registry` (the local store, then the registry; the
   * default) or `local` (the store only; an image not stored is checked as if it set nothing).
   */
  bases?: 'registry' | 'local';
  /** Check every stage rather than those the target needs (default: when no target is given). */
  allStages?: boolean;
  /**
   * Also plan the build, to report an error it would meet (default true; a build, which plans
   * anyway, turns it off).
   */
  validate?: boolean;
  /** Hears (as `warning:` messages) of a damaged image index, set aside when the store is read. */
  progress?: ProgressSink;
  /**
   * `--build-context NAME=SOURCE`, as the build takes them: a base named NAME is read from there
   * (a `docker-image://` one is looked up as that image; any other is an empty base, as a
   * directory's is), never from a registry under NAME.
   */
  buildContexts?: Record<string, string>;
}

/** The findings, with what is needed to print them as BuildKit does. */
export interface CheckResult extends LintResult {
  dockerfile: Dockerfile;
  /** The Dockerfile's name as BuildKit prints it: `-f` as given, else `Dockerfile`. */
  file: string;
  /** Its text, for the source excerpts. */
  source: string;
  /** Base images that were not found (with `bases: 'local'`). */
  unresolved: string[];
}

/** The build-arg that replaces the `# check=` directive, as in BuildKit. */
const CHECK_ARG = 'BUILDKIT_DOCKERFILE_CHECK';

/** Runs BuildKit's Dockerfile checks on the Dockerfile `request` names. */
export async function checkDockerfile(request: CheckRequest): Promise<CheckResult> {
  const { df, file, source } = await readParsed(request);
  const buildPlatform = hostPlatform();
  const targetPlatform = request.platform === undefined ? undefined : parsePlatform(request.platform);
  const buildArgs = request.buildArgs ?? {};
  const config = checkArgConfig(buildArgs);
  const prepared = prepareLint(df, {
    buildPlatform,
    ...(targetPlatform ? { targetPlatform } : {}),
    buildArgs,
    ...(request.target === undefined ? {} : { target: request.target }),
    ...(request.allStages === undefined ? {} : { allStages: request.allStages }),
    ...(config ? { config } : {}),
  });
  const baseImages: Record<string, BaseImage> = {};
  const unresolved: string[] = [];
  // One root for every base image looked up; nothing is created (a check writes nothing).
  const root = StateRoot.existing(request.root, request.progress);
  try {
    await Promise.all(
      prepared.images.map(async ({ ref, platform }) => {
        const image = await baseImage(ref, platform, request, root);
        if (image) baseImages[ref] = image;
        else unresolved.push(ref);
      }),
    );
  } catch (err) {
    if (!(err instanceof TsbuildError) || request.signal?.aborted) throw err;
    return { ...prepared.abort(err), dockerfile: df, file, source, unresolved };
  }
  const result = prepared.finish(baseImages);
  const error = result.error ?? (request.validate === false ? undefined : planError(df, request, buildPlatform, targetPlatform, baseImages));
  return { ...result, ...(error ? { error } : {}), dockerfile: df, file, source, unresolved };
}

/**
 * `--call=outline`: the build args, secrets and ssh sockets the target uses, with the check of the
 * stages it needs (BuildKit fails an outline of a `# check=error=true` Dockerfile with findings:
 * see `lintViolation`). Base images are read from the local store only (their ENV can only change
 * a default's value).
 */
export async function outlineDockerfile(request: CheckRequest): Promise<{ outline: Outline; check: CheckResult }> {
  const check = await checkDockerfile({ ...request, bases: request.bases ?? 'local', allStages: false });
  if (check.error) throw check.error;
  const stages = check.dockerfile.stages;
  const target = request.target === undefined ? stages.length - 1 : (stages.find((s) => s.name === request.target?.toLowerCase())?.index ?? -1);
  return { outline: buildOutline(check.dockerfile, check, target), check };
}

/** The failure of a `# check=error=true` Dockerfile with findings (naming the rules), or undefined. */
export function lintViolation(check: LintResult): InvalidArgumentError | undefined {
  if (!check.config.error || check.warnings.length === 0) return undefined;
  return new InvalidArgumentError(`lint violation found for rules: ${check.violatedRules.join(', ')}`);
}

/** `--call=targets`: the stages of the Dockerfile with their descriptions. */
export async function dockerfileTargets(request: PlanRequest): Promise<BuildTarget[]> {
  return listTargets((await readParsed(request)).df);
}

/** Reads and parses the Dockerfile; `file` is the name BuildKit would print. */
export async function readParsed(request: PlanRequest): Promise<{ df: Dockerfile; file: string; source: string }> {
  const found = await withLocalContext(request, (local) => readDockerfile(local.context, local.dockerfile, request.signal));
  // A Dockerfile from stdin is `Dockerfile`; one named with -f is shown as it was named.
  const fromStdin = request.dockerfile === '-' || displayPath(found.file) === 'Dockerfile';
  const file = (fromStdin ? undefined : request.dockerfile) ?? path.basename(found.file);
  return { df: parseDockerfile(found.text, { file }), file, source: found.text };
}

/** `--build-arg BUILDKIT_DOCKERFILE_CHECK=…` replaces the directive. */
function checkArgConfig(buildArgs: Readonly<Record<string, string>>): LintConfig | undefined {
  const value = buildArgs[CHECK_ARG];
  if (value === undefined) return undefined;
  try {
    return parseCheckOptions(value);
  } catch (err) {
    if (err instanceof CheckOptionError) throw new CheckConfigError(`failed to parse build-arg:${CHECK_ARG}: ${err.message}`);
    throw err;
  }
}

/**
 * A base image's config and platform: a named context's when `ref` names one, else from the local
 * store unless `pull`, else the registry.
 */
async function baseImage(ref: string, platform: Platform, request: CheckRequest, root: StateRoot): Promise<BaseImage | undefined> {
  // Parsed as the build parses them; a context's name is already its key.
  const named = Object.entries(request.buildContexts ?? {})
    .map(([name, source]) => parseBuildContext(`${name}=${source}`))
    .find((context) => context.name === contextKey(ref));
  if (named) return named.kind === 'image' ? baseImage(named.ref, platform, { ...request, buildContexts: {} }, root) : { config: {}, platform };
  if (!request.pull) {
    const stored = await storedConfig(ref, platform, root);
    if (stored) return stored;
  }
  if (request.bases === 'local') return undefined;
  const image = await resolveRemoteImage(ref, {
    ...registryOptions(request),
    platform: formatPlatform(platform),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  return asBaseImage(image.config.parsed);
}

async function storedConfig(ref: string, platform: Platform, root: StateRoot): Promise<BaseImage | undefined> {
  let name: string;
  try {
    name = formatReference(parseReference(ref));
  } catch {
    return undefined;
  }
  const record = await root.images.get(name).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
  if (!record || !platformMatches(platform, parsePlatform(record.platform))) return undefined;
  const store = root.store;
  const digest = parseDigest(record.config);
  if (!(await store.info(digest))) return undefined;
  return asBaseImage(JSON.parse((await store.readBytes(digest)).toString()) as ImageConfig);
}

function asBaseImage(config: ImageConfig): BaseImage {
  return {
    config: config.config ?? {},
    platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
  };
}

/**
 * What planning the build finds wrong (a stage copied from before it is defined, an unknown
 * target…), as BuildKit's check reports it. Every named stage is planned as a target when all are
 * checked, so that errors in stages the default target does not need are found too.
 */
function planError(
  df: Dockerfile,
  request: CheckRequest,
  buildPlatform: Platform,
  targetPlatform: Platform | undefined,
  baseImages: Readonly<Record<string, BaseImage>>,
): DockerfileError | undefined {
  const configs = Object.fromEntries(Object.entries(baseImages).map(([ref, image]) => [ref, image.config]));
  const all = request.allStages ?? request.target === undefined;
  const targets: Array<string | undefined> = [request.target];
  if (all) for (const stage of df.stages) if (stage.name !== undefined) targets.push(stage.name);
  const planned = new Set<number>();
  for (const target of targets) {
    const index = target === undefined ? df.stages.length - 1 : df.stages.find((s) => s.name === target.toLowerCase())?.index;
    if (index !== undefined && planned.has(index)) continue;
    try {
      const plan = planBuild(df, {
        buildPlatform,
        ...(targetPlatform ? { targetPlatform } : {}),
        buildArgs: request.buildArgs ?? {},
        ...(target === undefined ? {} : { target }),
        baseImages: configs,
      });
      for (const stage of plan.stages) planned.add(stage.index);
    } catch (err) {
      if (err instanceof DockerfileError) return err;
      throw err;
    }
  }
  return undefined;
}
