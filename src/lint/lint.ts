/**
 * `lintDockerfile`: a parsed Dockerfile → BuildKit's check findings. Pure: base-image configs are an
 * input, like the planner's. In two steps, because the base images a check needs are only known
 * once the global ARGs and FROM lines are evaluated: `prepareLint` runs the checks that need no
 * image and names the images; `finish` walks the stages with their configs.
 *
 * `--call=check` walks every stage; a build walks the stages its target needs (the checks that read
 * only the text still cover the whole file), as BuildKit does.
 */
import { DockerfileError, locate } from '../dockerfile/errors.js';
import type { Dockerfile } from '../dockerfile/parse.js';
import type { TsbuildError } from '../errors.js';
import type { Platform } from '../image/platform.js';
import { referencedSources } from '../plan/stage-graph.js';
import { CheckOptionError, DEFAULT_CONFIG, directiveOptions, parseCheckOptions, type LintConfig } from './config.js';
import { checkFromLines, type GlobalScope, type StageHead } from './from-checks.js';
import { Linter, sortedWarnings, type LintWarning } from './linter.js';
import { checkWriting } from './parse-checks.js';
import { walkStages, type BaseImage, type StageRecord } from './stage-walk.js';

/** What a check depends on besides the Dockerfile. */
export interface LintOptions {
  /** The platform tsbuild runs on. */
  buildPlatform: Platform;
  /** The platform asked for (`--platform`); absent: the build platform. */
  targetPlatform?: Platform;
  buildArgs?: Readonly<Record<string, string>>;
  /** The stage to build (`--target`). Without one, `--call=check` checks every stage. */
  target?: string;
  /** Walk every stage rather than those the target needs (default: when no target is given). */
  allStages?: boolean;
  /** What is known of the base images, by reference as written after expansion. */
  baseImages?: Readonly<Record<string, BaseImage>>;
  /** Replaces the `# check=` directive (BuildKit's `BUILDKIT_DOCKERFILE_CHECK` build-arg). */
  config?: LintConfig;
}

/** The findings of a check. */
export interface LintResult {
  /** Sorted as BuildKit prints them: by line, then in the order found. */
  warnings: LintWarning[];
  config: LintConfig;
  /** The rules that fired, each once (the `error=true` failure names them). */
  violatedRules: string[];
  /** The error that stopped the check, as a build would report it; findings before it are kept. */
  error?: TsbuildError;
  /** What each walked stage declared and mounted (for `--call=outline`). */
  stages: ReadonlyMap<number, StageRecord>;
  scope?: GlobalScope;
  heads: readonly StageHead[];
  /** The stages the target needs, ascending. */
  reachable: readonly number[];
}

/** The first step of a check: what it found so far and the base images it needs. */
export interface PreparedLint {
  config: LintConfig;
  /** Images (not stages, not scratch) the walked stages start from, with the platform each is for. */
  images: Array<{ ref: string; platform: Platform }>;
  finish(baseImages: Readonly<Record<string, BaseImage>>): LintResult;
  /** Ends the check with `error` (a base image that cannot be resolved): the findings so far are kept. */
  abort(error: TsbuildError): LintResult;
}

/** A `# check=` directive (or `BUILDKIT_DOCKERFILE_CHECK` build-arg) that cannot be read: every build fails on it. */
export class CheckConfigError extends DockerfileError {}

/** The check configuration of `df` (its `# check=` directive); throws a located error for a bad one. */
export function checkConfig(df: Dockerfile): LintConfig {
  if (df.directives.check === undefined) return DEFAULT_CONFIG;
  try {
    return parseCheckOptions(directiveOptions(df.directives.check));
  } catch (err) {
    if (!(err instanceof CheckOptionError)) throw err;
    const line = df.directives.checkLine ?? 1;
    const range = { start: { line, column: 1 }, end: { line, column: 1 } };
    throw new CheckConfigError(`failed to parse check options: ${err.message}`, locate(df.file, df.lines, range, 'check'));
  }
}

/** Runs the checks that need no base image and names the images the rest need. */
export function prepareLint(df: Dockerfile, options: LintOptions): PreparedLint {
  const config = options.config ?? checkConfig(df);
  const linter = new Linter(config);
  const targetPlatform = options.targetPlatform ?? options.buildPlatform;
  const buildArgs = options.buildArgs ?? {};
  const result = (extra: Partial<LintResult>): LintResult => ({
    warnings: sortedWarnings(linter.warnings),
    config,
    violatedRules: linter.violatedRules(),
    stages: new Map(),
    heads: [],
    reachable: [],
    ...extra,
  });
  const stopped = (err: unknown): PreparedLint => {
    if (!(err instanceof DockerfileError)) throw err;
    return { config, images: [], finish: () => result({ error: err }), abort: () => result({ error: err }) };
  };

  checkWriting(df, linter);
  let evaluated: ReturnType<typeof checkFromLines>;
  let reachable: number[];
  try {
    evaluated = checkFromLines(df, linter, {
      buildPlatform: options.buildPlatform,
      targetPlatform,
      buildArgs,
      ...(options.target === undefined ? {} : { target: options.target }),
    });
    reachable = reachableStages(df, targetIndex(df, options.target), evaluated.heads);
  } catch (err) {
    return stopped(err);
  }
  const { scope, heads } = evaluated;
  const walked = (options.allStages ?? options.target === undefined) ? df.stages.map((s) => s.index) : reachable;
  const images = new Map<string, { ref: string; platform: Platform }>();
  for (const i of walked) {
    const head = heads[i] as StageHead;
    if (head.base.toLowerCase() === 'scratch' || stageBase(df, head.base, i) !== undefined) continue;
    images.set(head.base, { ref: head.base, platform: head.platform ?? targetPlatform });
  }
  return {
    config,
    images: [...images.values()],
    finish: (baseImages) => {
      try {
        const stages = walkStages(df, linter, {
          scope,
          heads,
          buildArgs,
          targetPlatform,
          implicitPlatform: options.targetPlatform === undefined,
          buildPlatform: options.buildPlatform,
          baseImages,
          stages: walked,
          reachable: new Set(reachable),
        });
        return result({ stages, scope, heads, reachable });
      } catch (err) {
        if (!(err instanceof DockerfileError)) throw err;
        return result({ error: err, scope, heads, reachable });
      }
    },
    abort: (error) => result({ error, scope, heads, reachable }),
  };
}

/** Checks `df` in one step (base images from `options.baseImages`). */
export function lintDockerfile(df: Dockerfile, options: LintOptions): LintResult {
  return prepareLint(df, options).finish(options.baseImages ?? {});
}

/** The earlier stage a FROM names (case-insensitively), if any. */
function stageBase(df: Dockerfile, base: string, before: number): number | undefined {
  return df.stages.find((s) => s.index < before && s.name !== undefined && s.name === base.toLowerCase())?.index;
}

function targetIndex(df: Dockerfile, target: string | undefined): number {
  if (target === undefined) return df.stages.length - 1;
  const stage = df.stages.find((s) => s.name === target.toLowerCase());
  if (!stage) throw new DockerfileError(`target stage "${target}" could not be found`);
  return stage.index;
}

/** The stages `target` needs: its base stages and what it copies or mounts from, ascending. */
function reachableStages(df: Dockerfile, target: number, heads: readonly StageHead[]): number[] {
  const byName = (name: string): number | undefined => {
    const named = df.stages.find((s) => s.name !== undefined && s.name === name.toLowerCase());
    if (named) return named.index;
    return /^\d+$/.test(name) && Number(name) < df.stages.length ? Number(name) : undefined;
  };
  const seen = new Set<number>();
  const stack = [target];
  while (stack.length > 0) {
    const i = stack.pop() as number;
    if (seen.has(i)) continue;
    seen.add(i);
    const stage = df.stages[i];
    if (!stage) continue;
    const base = stageBase(df, heads[i]?.base ?? '', i);
    if (base !== undefined) stack.push(base);
    for (const ins of stage.instructions) {
      for (const ref of referencedSources(ins)) {
        const dep = byName(ref);
        if (dep !== undefined) stack.push(dep);
      }
    }
  }
  return [...seen].sort((a, b) => a - b);
}
