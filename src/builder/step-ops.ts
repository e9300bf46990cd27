/**
 * The build's steps as ops (BuildKit's `Op`): each gives the parts of its cache key and runs itself.
 * A RUN runs its process over a snapshot of its parent (`ops/exec-op.ts`); a COPY, ADD or WORKDIR
 * writes files into one (`ops/file-op.ts`); either may instead be restored from an imported cache
 * by unpacking the layer that cache holds for its key. The result is what a cache record holds:
 * the committed snapshot, the layer, and when it was made. A step hands it on as soon as its
 * snapshot is committed and writes its layer meanwhile (the next step runs on the snapshot; only
 * the image and the cache record need the layer), as BuildKit makes layers only when it exports.
 */
import { randomBytes } from 'node:crypto';
import type { CacheRecord } from '../cache/cache-index.js';
import type { BuildContext } from '../context/build-context.js';
import type { ContentStore } from '../content/store.js';
import type { Applier } from '../diff/applier.js';
import { digestHex, parseDigest, type Digest } from '../digest/digest.js';
import { DigestMismatchError } from '../digest/hashing.js';
import type { ChecksumCache } from '../fileops/checksum.js';
import { withActiveSnapshot, type SnapshotFrame } from '../ops/active-snapshot.js';
import { runExec, type ExecContext } from '../ops/exec-op.js';
import { runFileStep, type FileContext } from '../ops/file-op.js';
import type { Platform } from '../image/platform.js';
import type { ExecStep, FileStep, SourceLocation } from '../plan/types.js';
import { Unrestorable, type StepKeyInputs, type StepOp } from '../solve/step-resolver.js';
import { isNotFound } from '../errors.js';
import type { PendingStep } from '../util/lease.js';
import type { ImportedStep } from './cache-transfer.js';
import { createdAt } from './source-date-epoch.js';
import { execKeyParts, fileKeyParts } from './step-keys.js';

/** A step's result as the build holds it: the snapshot is there, the layer may still be being written. */
export interface StepResult {
  snapshot: string;
  layer: Promise<CacheRecord['layer']>;
  created: string;
}

/** A step's result as a cache record holds it, once its layer is written. */
export async function recordOf(result: StepResult): Promise<CacheRecord> {
  return { snapshot: result.snapshot, layer: await result.layer, created: result.created };
}

/** What every step of a build shares. */
export interface StepEnvironment {
  context: BuildContext;
  checksums: ChecksumCache;
  /** SOURCE_DATE_EPOCH in seconds, when set. */
  epoch: number | undefined;
  /** What RUN steps run with (the stage's and step's parts are added). */
  exec: Omit<ExecContext, 'output' | 'signal' | 'sourceDir'>;
  /** What file steps run with. */
  file: Omit<FileContext, 'signal' | 'sourceDir'>;
  /** The content store and applier an imported step is restored with. */
  store: ContentStore;
  applier: Applier;
  /** Steps of imported caches (`--cache-from`), by key. */
  imported: ReadonlyMap<string, ImportedStep>;
  /**
   * The build's own signal (Ctrl-C), which alone stops a layer being written after its snapshot is
   * committed: when a later step fails, the steps before it still finish and are recorded.
   */
  signal?: AbortSignal;
  /**
   * Told each step snapshot's name before it is made (the build's lease keeps it), so that one
   * committed but never recorded is found and removed (`cache/unrecorded-steps.ts`).
   */
  pending?: (step: PendingStep) => Promise<void>;
}

/** What one step needs besides: its parent snapshot, what it reads (keys and trees), its output. */
export interface StepPlace {
  parent: string | undefined;
  keyOf: (from: SourceLocation) => Promise<string>;
  sourceDir: NonNullable<ExecContext['sourceDir']>;
  output: (chunk: Buffer) => void;
  signal: AbortSignal;
  /** The stage's platform: a RUN runs as it (emulated when foreign), and it is part of a RUN's key. */
  platform: Platform;
}

/** The op of a RUN or file step. */
export function stepOp(step: ExecStep | FileStep, place: StepPlace, env: StepEnvironment): StepOp<StepResult> {
  return {
    key: async (): Promise<StepKeyInputs> => {
      const parts =
        step.kind === 'exec'
          ? await execKeyParts(step, place.platform, env.context, env.checksums)
          : await fileKeyParts(step, env.context, env.checksums);
      // Layers made with SOURCE_DATE_EPOCH have clamped times: a different result, a different key.
      const definition = env.epoch === undefined ? parts.definition : { step: parts.definition, sourceDateEpoch: env.epoch };
      return { definition, inputs: await Promise.all(parts.reads.map(place.keyOf)), content: parts.content };
    },
    run: async (key: Digest, ready: (result: StepResult) => void): Promise<StepResult> => {
      const name = stepSnapshotName(key);
      await env.pending?.({ key, snapshot: name });
      const created = createdAt(env.epoch);
      const layerSignal = env.signal ?? new AbortController().signal;
      // The step calls back once its snapshot is committed, always after an await: `layer` is set.
      const handOn = (): void => ready({ snapshot: name, layer, created });
      const layer: Promise<CacheRecord['layer']> =
        step.kind === 'exec'
          ? runExec(
              step,
              place.parent,
              name,
              { ...env.exec, sourceDir: place.sourceDir, output: place.output, signal: place.signal, layerSignal, platform: place.platform },
              handOn,
            )
          : runFileStep(step, place.parent, name, { ...env.file, sourceDir: place.sourceDir, signal: place.signal, layerSignal }, handOn);
      layer.catch(() => undefined); // whoever uses the result awaits it
      await layer;
      return { snapshot: name, layer, created };
    },
    restorable: (key: Digest) => {
      const imported = env.imported.get(key);
      return imported ? () => restoreStep(key, imported, place, env) : undefined;
    },
  };
}

/**
 * The snapshot name of a step's result: its cache key and a random part, so that builds making the
 * same step at once never collide (the first to record it wins, `step-cache.ts`; the other's snapshot
 * goes when its build ends, unless a later step's is built on it).
 */
function stepSnapshotName(key: Digest): string {
  return `step-${digestHex(key).slice(0, 32)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Restores an imported step: its layer into the store, unpacked onto the parent snapshot. A layer
 * the cache no longer has (a registry that answers 404, a local cache missing the blob) makes the
 * step a miss (`Unrestorable`); other failures (a damaged layer, a full disk) fail the build.
 */
async function restoreStep(key: Digest, imported: ImportedStep, place: StepPlace, env: StepEnvironment): Promise<StepResult> {
  const { step } = imported;
  const descriptor = step.layer.descriptor;
  const signal = { signal: place.signal };
  const expected = { digest: parseDigest(descriptor.digest), size: descriptor.size };
  if ((await env.store.info(expected.digest))?.size !== descriptor.size) {
    const fetch = async (): Promise<unknown> => env.store.ingest(await imported.open(place.signal), expected, signal);
    await fetch().catch((err: unknown) => Promise.reject(isNotFound(err) ? new Unrestorable((err as Error).message) : err));
  }
  const name = stepSnapshotName(key);
  await env.pending?.({ key, snapshot: name });
  const frame: SnapshotFrame = { snapshotter: env.file.snapshotter, root: env.file.root };
  await withActiveSnapshot(frame, place.parent, 'restore', async ({ key: active, mounts }) => {
    const diffID = await env.applier.apply(descriptor, mounts, signal);
    if (diffID !== step.layer.diffID) throw new DigestMismatchError(step.layer.diffID, diffID, `imported layer ${descriptor.digest} (diffID)`);
    await frame.snapshotter.commit(name, active);
  });
  return { snapshot: name, layer: Promise.resolve(step.layer), created: step.created };
}
