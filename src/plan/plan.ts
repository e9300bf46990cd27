/**
 * `planBuild`: a parsed Dockerfile + options → a `BuildPlan`. Pure: base-image configs are an input
 * (`baseImages`), so the plan can be computed and tested without a registry, a filesystem or root.
 *
 * Order of work, as BuildKit does it: global ARGs in the global scope; every FROM expanded with it;
 * the stage DAG and its ordering checks; the target and the stages it reaches; then each reachable
 * stage in Dockerfile order (a topological order, since references only point backwards).
 */
import { DockerfileError, locate } from '../dockerfile/errors.js';
import { ExpansionError, expandWord } from '../dockerfile/expand.js';
import type { ArgInstruction, StageInstruction } from '../dockerfile/instructions.js';
import { parseTriggers, type Dockerfile, type Stage } from '../dockerfile/parse.js';
import { didYouMean } from '../dockerfile/suggest.js';
import type { ContainerConfig } from '../image/oci-types.js';
import { scratchConfig, startConfig } from './image-config.js';
import { formatPlatform, parsePlatform, platformArgs, type Platform } from '../image/platform.js';
import { ArgScope, argsForChild, isProxyArg, type InheritedArgs } from './scope.js';
import { reachableStages, referencedSources, resolveFrom, stageDisplayName, type FailAt, type StageIndex } from './stage-graph.js';
import { StagePlanner } from './stage-planner.js';
import { namedContextRef } from './named-contexts.js';
import type { BuildPlan, PlannedStage, SourceStep, StageBase } from './types.js';

/** What a plan depends on besides the Dockerfile. */
export interface PlanOptions {
  /** The stage to build (name, case-insensitive); the last stage when absent. */
  target?: string;
  /** `--build-arg` values. */
  buildArgs?: Readonly<Record<string, string>>;
  /** The platform tsbuild runs on. */
  buildPlatform: Platform;
  /** The platform to build for; the build platform when absent. */
  targetPlatform?: Platform;
  /** Container configs of base images, by reference as written after expansion. Missing = unknown. */
  baseImages?: Readonly<Record<string, ContainerConfig>>;
  /** Manifest digests of resolved base images, by reference (recorded on FROM steps). */
  baseDigests?: Readonly<Record<string, string>>;
  /** Base images' `author` (their MAINTAINER), by reference: a stage on one keeps it, as BuildKit does. */
  baseAuthors?: Readonly<Record<string, string>>;
  /** `--label` values, added to the target stage's config. */
  labels?: Readonly<Record<string, string>>;
  /**
   * Named contexts (`--build-context`), by name, as the image references standing in for them: a
   * stage of that name is replaced by the image, and `FROM`, `COPY --from` and `RUN --mount from=`
   * naming it read the image (`named-contexts.ts`).
   */
  namedContexts?: Readonly<Record<string, string>>;
}

/** The images the plan's stages start from, with the platform each is needed for (distinct). */
export function imageBases(plan: BuildPlan): Array<{ ref: string; platform: string }> {
  const seen = new Map<string, { ref: string; platform: string }>();
  for (const stage of plan.stages) {
    if (stage.base.kind === 'image') seen.set(`${stage.base.ref} ${stage.platform}`, { ref: stage.base.ref, platform: stage.platform });
  }
  return [...seen.values()];
}

/** What is known about each stage before planning its instructions. */
interface StageHead {
  stage: Stage;
  base: StageBase;
  platform: Platform;
  /** ONBUILD triggers of the base, run before the stage's own instructions. */
  triggers: StageInstruction[];
}

/** Plans a build. Throws `DockerfileError` (located) for anything the Dockerfile gets wrong. */
export function planBuild(df: Dockerfile, options: PlanOptions): BuildPlan {
  const buildArgs = options.buildArgs ?? {};
  const targetPlatform = options.targetPlatform ?? options.buildPlatform;
  const failAt: FailAt = (ins, message, needle) => {
    throw new DockerfileError(message, locate(df.file, df.lines, ins.range, needle));
  };
  const consumed = new Set<string>();
  const builtins = platformArgs(options.buildPlatform, targetPlatform);
  const globals = globalScope(df.globalArgs, buildArgs, builtins, failAt, consumed);
  const index: StageIndex = {
    byName: new Map(df.stages.flatMap((s) => (s.name === undefined ? [] : [[s.name, s.index] as const]))),
    count: df.stages.length,
    displayNames: df.stages.map(stageDisplayName),
    ...(options.namedContexts ? { contexts: options.namedContexts } : {}),
  };

  const heads: StageHead[] = [];
  const needs: number[][] = [];
  for (const stage of df.stages) {
    const head = stageHead(stage, heads, globals, targetPlatform, options, df, failAt);
    heads.push(head);
    const deps = new Set<number>();
    if (head.base.kind === 'stage') deps.add(head.base.index);
    for (const ins of [...head.triggers, ...head.stage.instructions]) {
      for (const value of referencedSources(ins)) {
        const from = resolveFrom(value, stage.index, index, (message) => failAt(ins, message, value));
        if (from.kind === 'stage') deps.add(from.index);
      }
    }
    needs.push([...deps].sort((a, b) => a - b));
  }

  const target = selectTarget(df, options.target);
  const builtinsInStages = { ...builtins, TARGETSTAGE: options.target ?? df.stages[target]?.name ?? 'default' };
  const planned = new Map<number, PlannedStage>();
  const childArgs = new Map<number, InheritedArgs>();
  for (const i of reachableStages(target, needs)) {
    const head = heads[i] as StageHead;
    const parent = head.base.kind === 'stage' ? planned.get(head.base.index) : undefined;
    const baseConfig =
      head.base.kind === 'scratch'
        ? scratchConfig()
        : (parent?.config ?? (head.base.kind === 'image' ? options.baseImages?.[head.base.ref] : undefined) ?? {});
    const planner = new StagePlanner(
      {
        index: i,
        displayName: index.displayNames[i] ?? '',
        buildArgs,
        globals,
        builtins: builtinsInStages,
        resolveFrom: (value, ins) => resolveFrom(value, i, index, (message) => failAt(ins, message, value)),
        failAt,
        consumed,
        ...(head.base.kind === 'stage' ? { inherited: childArgs.get(head.base.index) ?? new Map<string, string>() } : {}),
      },
      startConfig(baseConfig),
    );
    // The author, like the container config, comes from the base until a MAINTAINER replaces it.
    planner.author = head.base.kind === 'stage' ? parent?.author : head.base.kind === 'image' ? options.baseAuthors?.[head.base.ref] : undefined;
    if (head.base.kind === 'image') planner.push(sourceStep(head, i, options.baseDigests?.[head.base.ref]));
    for (const trigger of head.triggers) planner.apply(trigger, true);
    for (const ins of head.stage.instructions) planner.apply(ins);
    if (i === target && options.labels && Object.keys(options.labels).length > 0)
      planner.config = { ...planner.config, Labels: { ...(planner.config.Labels ?? {}), ...options.labels } };
    planned.set(i, finishStage(head, planner, needs[i] ?? [], parent, options.baseImages, df.stages.length > 1));
    childArgs.set(i, argsForChild(planner.args, head.base.kind === 'stage' ? childArgs.get(head.base.index) : undefined));
  }

  // SOURCE_DATE_EPOCH is the builder's own (it fixes the build's times) whether a stage declares it or not.
  const unused = Object.keys(buildArgs).filter((k) => !consumed.has(k) && !isProxyArg(k) && !(k in builtinsInStages) && k !== 'SOURCE_DATE_EPOCH');
  const warnings = [
    ...df.warnings.map((w) => `${df.file}:${w.line}: ${w.message}`),
    // BuildKit would fetch and run the named frontend image; tsbuild has one frontend, its own.
    ...(df.directives.syntax === undefined
      ? []
      : [
          `${df.file}:${df.directives.syntaxLine ?? 1}: # syntax=${df.directives.syntax} is not fetched: tsbuild parses with its own Dockerfile frontend`,
        ]),
    ...(unused.length > 0 ? [`One or more build-args [${unused.join(' ')}] were not consumed`] : []),
  ];
  return {
    dockerfile: df.file,
    target: { index: target, name: index.displayNames[target] ?? '' },
    platforms: { build: formatPlatform(options.buildPlatform), target: formatPlatform(targetPlatform) },
    stages: [...planned.values()],
    warnings,
  };
}

/** The global scope: builtins, then global ARGs in order (build-arg, else expanded default). */
function globalScope(
  args: ArgInstruction[],
  buildArgs: Readonly<Record<string, string>>,
  builtins: Readonly<Record<string, string>>,
  failAt: FailAt,
  consumed: Set<string>,
): ArgScope {
  const scope = new ArgScope();
  for (const [k, v] of Object.entries(builtins)) scope.declare(k, v);
  for (const ins of args) {
    for (const { key, value } of ins.args) {
      consumed.add(key);
      if (Object.prototype.hasOwnProperty.call(buildArgs, key)) scope.declare(key, buildArgs[key]);
      else if (value !== undefined)
        scope.declare(
          key,
          expandIn(scope, value, (m) => failAt(ins, m, value)),
        );
      else scope.declare(key, builtins[key]);
    }
  }
  return scope;
}

function expandIn(scope: ArgScope, text: string, fail: (message: string) => never): string {
  try {
    return expandWord(text, (name) => scope.get(name));
  } catch (err) {
    if (err instanceof ExpansionError) return fail(err.message);
    throw err;
  }
}

function stageHead(
  stage: Stage,
  earlier: StageHead[],
  globals: ArgScope,
  defaultPlatform: Platform,
  options: Pick<PlanOptions, 'baseImages' | 'namedContexts'>,
  df: Dockerfile,
  failAt: FailAt,
): StageHead {
  const from = stage.from;
  // BuildKit: a stage named like a named context is that context, whatever its instructions say.
  const replacement = stage.name === undefined ? undefined : namedContextRef(options.namedContexts, stage.name);
  if (replacement !== undefined)
    return { stage: { ...stage, instructions: [] }, base: { kind: 'image', ref: replacement }, platform: defaultPlatform, triggers: [] };
  const fail = (message: string, needle?: string): never => failAt(from, message, needle);
  const image = expandIn(globals, from.image, (m) => fail(m, from.image));
  if (image === '') fail(`base name (${from.image}) should not be blank`, from.image);
  let platform = defaultPlatform;
  if (from.platform !== undefined) {
    const text = expandIn(globals, from.platform, (m) => fail(m, from.platform));
    try {
      platform = parsePlatform(text);
    } catch (err) {
      fail(`failed to parse platform ${text}: ${(err as Error).message}`, '--platform');
    }
  }
  const parent = earlier.find((h) => h.stage.name !== undefined && h.stage.name === image.toLowerCase());
  if (parent) {
    const triggers = parent.stage.instructions.flatMap((i) => (i.kind === 'ONBUILD' ? [relocate(i.trigger, from.range)] : []));
    return { stage, base: { kind: 'stage', index: parent.stage.index, name: stageDisplayName(parent.stage) }, platform, triggers };
  }
  if (image.toLowerCase() === 'scratch') return { stage, base: { kind: 'scratch' }, platform, triggers: [] };
  const ref = namedContextRef(options.namedContexts, image) ?? image;
  const onbuild = options.baseImages?.[ref]?.OnBuild ?? [];
  const triggers = onbuild.length > 0 ? parseTriggers(onbuild, df.file).map((t) => relocate(t, from.range)) : [];
  return { stage, base: { kind: 'image', ref }, platform, triggers };
}

/** Trigger instructions report errors at the FROM that fires them. */
function relocate<T extends StageInstruction>(ins: T, range: StageInstruction['range']): T {
  return { ...ins, range };
}

function selectTarget(df: Dockerfile, target: string | undefined): number {
  if (target === undefined) return df.stages.length - 1;
  const wanted = target.toLowerCase();
  const stage = df.stages.find((s) => s.name === wanted);
  if (!stage) {
    const names = df.stages.flatMap((s) => (s.name === undefined ? [] : [s.name]));
    const suggestion = didYouMean(wanted, names);
    throw new DockerfileError(`target stage "${target}" could not be found${suggestion}`, undefined, {
      hint: names.length > 0 ? `stages in ${df.file}: ${names.join(', ')}` : `${df.file} has no named stages`,
    });
  }
  return stage.index;
}

function sourceStep(head: StageHead, index: number, digest: string | undefined): SourceStep {
  const ref = head.base.kind === 'image' ? head.base.ref : '';
  return {
    id: `${index}.0`,
    kind: 'source',
    name: `FROM ${ref}`,
    line: head.stage.from.range.start.line,
    ref,
    ...(digest === undefined ? {} : { digest }),
    platform: formatPlatform(head.platform),
    history: { created_by: `FROM ${ref}` },
  };
}

/** Numbers the steps BuildKit numbers (FROM image, RUN, COPY, ADD, WORKDIR) and freezes the stage. */
function finishStage(
  head: StageHead,
  planner: StagePlanner,
  needs: number[],
  parent: PlannedStage | undefined,
  baseImages: PlanOptions['baseImages'],
  multiStage: boolean,
): PlannedStage {
  const name = stageDisplayName(head.stage);
  const numbered = planner.steps.filter((s) => s.kind !== 'config' || s.instruction === 'WORKDIR');
  // BuildKit names the stage in a step's name unless it is the only one and has no name: `[2/4] RUN …`.
  const prefix = multiStage || head.stage.name !== undefined ? `${name} ` : '';
  let n = 0;
  const steps = planner.steps.map((s) => (numbered.includes(s) ? { ...s, name: `[${prefix}${++n}/${numbered.length}] ${s.name}` } : s));
  return {
    index: head.stage.index,
    name,
    line: head.stage.from.range.start.line,
    base: head.base,
    platform: formatPlatform(head.platform),
    needs,
    steps,
    config: planner.config,
    ...(planner.author === undefined ? {} : { author: planner.author }),
    baseResolved:
      head.base.kind === 'scratch' || (head.base.kind === 'stage' ? (parent?.baseResolved ?? false) : baseImages?.[head.base.ref] !== undefined),
  };
}
