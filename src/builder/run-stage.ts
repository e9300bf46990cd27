/**
 * One stage of a build, as one vertex of the solver: where it begins (nothing, another stage's
 * result, or an image's unpacked layers), then each step in order — source and config steps add
 * history, RUN and file steps are resolved against the cache (`solve/step-resolver.ts`) as ops
 * (`step-ops.ts`). Another stage's result is awaited only where a step reads it, so the steps
 * before run meanwhile. A step's layer may still be being written while the steps after it run;
 * the stage is done when all of its layers are.
 */
import type { Applier } from '../diff/applier.js';
import type { Descriptor, HistoryEntry } from '../image/oci-types.js';
import { parsePlatform } from '../image/platform.js';
import type { PlannedStage, SourceLocation } from '../plan/types.js';
import type { ProgressSink } from '../progress/events.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { VertexRun } from '../solve/solver.js';
import type { StepResolver } from '../solve/step-resolver.js';
import type { BaseImages } from './base-images.js';
import type { SourceViews } from './source-dirs.js';
import { withFailedStep, type DockerfileText } from './failed-step.js';
import { createdAt } from './source-date-epoch.js';
import { stepOp, type StepEnvironment, type StepResult } from './step-ops.js';
import { goTime } from '../util/go-time.js';

/** What a finished stage hands on: its snapshot, key, layers and history. */
export interface StageResult {
  snapshot: string | undefined;
  key: string;
  layers: Array<{ descriptor: Descriptor; diffID: string }>;
  history: HistoryEntry[];
  created: string;
  stage: PlannedStage;
}

/** What every stage of a build shares. */
export interface StageEnvironment {
  bases: BaseImages;
  snapshotter: Snapshotter;
  applier: Applier;
  views: SourceViews;
  resolver: StepResolver<StepResult>;
  steps: StepEnvironment;
  progress: ProgressSink;
  /** The stable name of a step's place (Dockerfile, stage, step), for explaining misses. */
  location: (stage: PlannedStage, stepId: string) => string;
  /** Whether the stage's steps run even when cached (`--no-cache`, `--no-cache-filter`). */
  skipCache: (stage: PlannedStage) => boolean;
  /** Every step result the build used, by key (what `--cache-to` exports). */
  used: Map<string, StepResult>;
  /** The Dockerfile, for naming the step a failure comes from. */
  dockerfile: DockerfileText;
}

export async function runStage(stage: PlannedStage, run: VertexRun<StageResult>, env: StageEnvironment): Promise<StageResult> {
  const stageOf = (index: number): Promise<StageResult> => run.need(String(index));
  const keyOf = async (from: SourceLocation): Promise<string> =>
    from.kind === 'stage'
      ? (await stageOf(from.index)).key
      : from.kind === 'image'
        ? env.bases.get(from.ref, stage.platform).manifest.digest
        : 'context';
  // Images are read as the stage's platform: its base, and those of `COPY --from` and mounts.
  const imageTop = (ref: string): Promise<string | undefined> => env.bases.top(ref, stage.platform, env.snapshotter, env.applier);
  const platform = parsePlatform(stage.platform);
  const sourceDir = async (from: Exclude<SourceLocation, { kind: 'context' }>): Promise<string> =>
    env.views.dirFor(from.kind === 'stage' ? (await stageOf(from.index)).snapshot : await imageTop(from.ref));

  // A base this build pulled is not CACHED (BuildKit shows its pull and unpack as the FROM's work).
  const source = stage.steps.find((s) => s.kind === 'source');
  const cold = source?.kind === 'source' && env.bases.pulled(source.ref);
  const started = Date.now();
  if (source && cold) env.progress.emit({ type: 'step', id: source.id, name: source.name, status: 'started' });
  let state = await startStage(stage, stageOf, env.bases, imageTop);
  const layers: Array<Promise<StageResult['layers'][number]>> = [];
  // A layer failing after its step handed the snapshot on fails the stage at once, not at its end.
  let layerFailed!: (err: unknown) => void;
  const anyLayerFailed = new Promise<never>((_, reject) => (layerFailed = reject));
  anyLayerFailed.catch(() => undefined);
  // With SOURCE_DATE_EPOCH, BuildKit writes the epoch into every history entry the build adds,
  // config-only ones (ARG, ENV right after FROM) included, and into the image's `created`.
  if (env.steps.epoch !== undefined) state = { ...state, created: createdAt(env.steps.epoch) };
  for (const step of stage.steps) {
    if (step.kind === 'source') {
      const seconds = (Date.now() - started) / 1000;
      env.progress.emit(
        cold
          ? { type: 'step', id: step.id, name: step.name, status: 'done', seconds }
          : { type: 'step', id: step.id, name: step.name, status: 'cached' },
      );
      continue;
    }
    if (step.kind === 'config') {
      if (step.history) state = { ...state, history: [...state.history, { created: state.created, ...step.history }] };
      continue;
    }
    const place = {
      parent: state.snapshot,
      keyOf,
      sourceDir,
      output: (chunk: Buffer) => env.progress.emit({ type: 'log', id: step.id, chunk: chunk.toString() }),
      signal: run.signal,
      platform,
    };
    const info = { id: step.id, name: step.name, location: env.location(stage, step.id), parentKey: state.key, skipCache: env.skipCache(stage) };
    const resolved = env.resolver.resolve(info, stepOp(step, place, env.steps), run.slot).catch((err: unknown) => {
      throw withFailedStep(err, step, stage, env.dockerfile);
    });
    const { key, result } = await Promise.race([resolved, anyLayerFailed]);
    env.used.set(key, result);
    const layer = result.layer.catch((err: unknown) => {
      throw withFailedStep(err, step, stage, env.dockerfile);
    });
    layer.catch(layerFailed); // awaited at the end of the stage, unless a step fails first
    layers.push(layer);
    state = {
      ...state,
      snapshot: result.snapshot,
      key,
      history: [...state.history, { created: result.created, ...step.history }],
      created: result.created,
    };
  }
  return { ...state, layers: [...state.layers, ...(await settledLayers(layers))] };
}

/** The layers, once all are written; the first failure (all are awaited, so none is left running). */
async function settledLayers<T>(layers: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(layers);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Where a stage begins: nothing, another stage's result, or an image's unpacked layers. */
async function startStage(
  stage: PlannedStage,
  stageOf: (index: number) => Promise<StageResult>,
  bases: BaseImages,
  imageTop: (ref: string) => Promise<string | undefined>,
): Promise<StageResult> {
  if (stage.base.kind === 'stage') return { ...(await stageOf(stage.base.index)), stage };
  if (stage.base.kind === 'scratch') return { snapshot: undefined, key: 'scratch', layers: [], history: [], created: goTime(new Date(0)), stage };
  const base = bases.get(stage.base.ref, stage.platform);
  const diffIDs = base.config.rootfs.diff_ids;
  return {
    snapshot: await imageTop(stage.base.ref),
    key: base.manifest.digest,
    layers: base.layers.map((descriptor, i) => ({ descriptor, diffID: diffIDs[i] ?? '' })),
    history: base.config.history ?? [],
    created: base.config.created ?? goTime(new Date(0)),
    stage,
  };
}
