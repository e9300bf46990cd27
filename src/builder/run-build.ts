/**
 * `build`: the whole pipeline. Base images are pulled and unpacked into snapshots; the plan is made
 * with their configs; stages run through the solver (independent stages in parallel), each step
 * looked up in the cache index by its key and run only on a miss; the target stage's layers,
 * config and history become an image in the content store, named in the local image store.
 */
import os from 'node:os';
import path from 'node:path';
import { CacheIndex, missReason, type CacheRecord } from '../cache/cache-index.js';
import type { CacheSpec } from '../cache/cache-spec.js';
import { exportCacheTo, importCache, type ImportedStep } from './cache-transfer.js';
import { DigestMismatchError } from '../digest/hashing.js';
import { withActiveSnapshot } from '../ops/active-snapshot.js';
import { LocalContentStore } from '../content/local-store.js';
import { loadBuildContext } from '../context/build-context.js';
import { digestHex, parseDigest, type Digest } from '../digest/digest.js';
import { parseDockerfile } from '../dockerfile/parse.js';
import { InvalidArgumentError, isNotFound } from '../errors.js';
import { ChecksumCache } from '../fileops/checksum.js';
import { ImageIndex } from '../images/image-index.js';
import type { Descriptor, HistoryEntry, ImageConfig, Manifest } from '../image/oci-types.js';
import { formatPlatform, parsePlatform, type Platform } from '../image/platform.js';
import { runExec } from '../ops/exec-op.js';
import { randomBytes } from 'node:crypto';
import { reclaimRoot } from '../maintenance.js';
import { Lease } from '../util/lease.js';
import type { SnapshotFrame } from '../ops/active-snapshot.js';
import { ContextViews } from './context-views.js';
import { runFileStep } from '../ops/file-op.js';
import { imageBases, planBuild, type PlanOptions } from '../plan/plan.js';
import type { BuildPlan, PlannedStage, SourceLocation } from '../plan/types.js';
import { nullSink, type ProgressSink } from '../progress/events.js';
import { pull, type PullOptions } from '../pull.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { RuncExecutor } from '../runtime/runc.js';
import { hostPlatform, stateRoot } from '../settings.js';
import { selectSnapshotter } from '../snapshot/select.js';
import type { ManagedSnapshotter, Snapshotter } from '../snapshot/snapshotter.js';
import { MountDiffer } from '../diff/differ.js';
import { StoreApplier, type Applier } from '../diff/applier.js';
import type { ContentStore } from '../content/store.js';
import { cacheKey } from '../solve/cache-key.js';
import { solve } from '../solve/solver.js';
import { prepareStateRoot } from '../util/make-dirs.js';
import { writeImage } from './assemble.js';
import type { OutputSpec } from '../export/output-spec.js';
import { checkOutputNames, IMAGE_STORE_OUTPUT, writeOutputs, type OutputResult } from '../export/write-outputs.js';
import { chainIDs, layerSnapshotName, unpackLayers } from './base-images.js';
import { SourceViews } from './source-dirs.js';
import { execKeyParts, fileKeyParts, type StepKeyParts } from './step-keys.js';
import { readDockerfile } from '../context/dockerfile-file.js';

/** What to build. */
export interface BuildRequest {
  context: string;
  dockerfile?: string;
  target?: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  platform?: string;
  /** Names for the image (`-t`). */
  tags?: string[];
  /** Where the image goes (`-o`); default: the local image store under the `-t` names. */
  outputs?: OutputSpec[];
  /** Run every step again (`--no-cache`). */
  noCache?: boolean;
  /** Run the steps of these stages again (`--no-cache-filter`). */
  noCacheFilter?: string[];
  /** Resolve base images in their registries even when stored locally (`--pull`). */
  pull?: boolean;
  /** Export the steps of this build (`--cache-to`); a string is a local cache directory. */
  cacheTo?: CacheSpec | string;
  /** Import steps (`--cache-from`); a string is a local cache directory. */
  cacheFrom?: Array<CacheSpec | string>;
  root?: string;
  registries?: Pick<PullOptions, 'registries' | 'registriesConfig' | 'dockerConfig'>;
  secrets?: Record<string, Buffer>;
  /**
   * Steps run at once across stages (default: twice the CPU count, at least 4). Steps mostly wait
   * on their processes and disks rather than use a core each; BuildKit does not bound them at all.
   */
  jobs?: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface BuildResult {
  /** The image manifest digest (of the first image output's variant, when there is one). */
  digest: Digest;
  /** What each output wrote. */
  outputs: OutputResult[];
  /** The config digest (image id). */
  config: Digest;
  tags: string[];
  plan: BuildPlan;
  /** Steps run and steps taken from the cache. */
  ran: number;
  cached: number;
}

/** What a finished stage hands on: its snapshot, key, layers and history. */
interface StageResult {
  snapshot: string | undefined;
  key: string;
  layers: Array<{ descriptor: Descriptor; diffID: string }>;
  history: HistoryEntry[];
  created: string;
  stage: PlannedStage;
}

interface BaseImage {
  manifest: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
}

export async function build(request: BuildRequest): Promise<BuildResult> {
  const progress = request.progress ?? nullSink;
  const { file: dockerfilePath, text: dockerfileText } = await readDockerfile(request.context, request.dockerfile, request.signal);
  // Names and the platform are checked before anything runs (docker refuses a bad -t up front too).
  const tags = (request.tags ?? []).map((t) => formatReference(parseReference(t)));
  checkOutputNames(request.outputs ?? [], tags);
  const targetPlatform = request.platform ? parsePlatform(request.platform) : hostPlatform();
  const root = stateRoot(request.root);
  await prepareStateRoot(root);
  const store = new LocalContentStore(root);
  const runtime = new RuncExecutor(root);
  // What this build uses stays out of a concurrent prune's reach until it ends.
  const lease = await Lease.take(root);
  try {
    return await buildWithLease(request, { root, store, runtime, lease, progress, dockerfilePath, dockerfileText, tags, targetPlatform });
  } finally {
    await lease.close();
  }
}

interface BuildSetup {
  root: string;
  store: LocalContentStore;
  runtime: RuncExecutor;
  lease: Lease;
  progress: ProgressSink;
  dockerfilePath: string;
  dockerfileText: string;
  tags: string[];
  targetPlatform: Platform;
}

async function buildWithLease(request: BuildRequest, setup: BuildSetup): Promise<BuildResult> {
  const { root, store, runtime, lease, progress, dockerfilePath, dockerfileText, tags, targetPlatform } = setup;
  // The snapshotter is chosen (on a new root: a test mount) and what a killed run left is removed
  // while the base images are pulled: nothing before the stages needs it.
  const snapshotterReady = (async (): Promise<ManagedSnapshotter> => {
    const chosen = await selectSnapshotter(root, (text) => progress.emit({ type: 'message', text }));
    await reclaimRoot(root, chosen, store);
    return chosen;
  })();
  const planned = planWithBases(request, dockerfileText, dockerfilePath, targetPlatform, root, store, lease, progress);
  // Both settle before build() does, so a failed pull never leaves the test mount behind it.
  await Promise.allSettled([planned, snapshotterReady]);
  const { plan, bases } = await planned;
  const snapshotter = await snapshotterReady;

  const context = await loadBuildContext(request.context, dockerfilePath);
  const checksums = await ChecksumCache.for(root, request.context).load();
  const cache = new CacheIndex(root);
  const views = new SourceViews(snapshotter, root);
  const differ = new MountDiffer(store, root);
  const applier = new StoreApplier(store);
  const contextViews = new ContextViews(context, root);
  const epoch = sourceDateEpoch(request.buildArgs);
  let ran = 0;
  let cached = 0;
  const used = new Map<string, CacheRecord>();
  const inFlight = new Map<string, Promise<CacheRecord>>();
  const transfer = { root, store, progress, ...request.registries, ...(request.signal ? { signal: request.signal } : {}) };
  const imported = new Map<string, ImportedStep>();
  for (const spec of request.cacheFrom ?? []) for (const [key, step] of await importCache(cacheSpec(spec), transfer)) imported.set(key, step);
  // The unpacking is remembered as a promise, so stages starting together from one image share it.
  const imageTops = new Map<string, Promise<string | undefined>>();
  const imageTop = (ref: string): Promise<string | undefined> => {
    let top = imageTops.get(ref);
    if (!top) {
      const base = bases.get(ref) as BaseImage;
      const diffIDs = base.config.rootfs.diff_ids;
      top = lease
        .add({ snapshots: chainIDs(diffIDs).map(layerSnapshotName) })
        .then(() => unpackLayers(base.layers, diffIDs, snapshotter, applier, request.signal));
      imageTops.set(ref, top);
    }
    return top;
  };

  try {
    const results = await solve<StageResult>(
      plan.stages.map((s) => ({ id: String(s.index), deps: s.needs.map(String) })),
      async (id, { need, slot, signal }) => {
        const stage = plan.stages.find((s) => String(s.index) === id) as PlannedStage;
        // Another stage's result is awaited where a step reads it, so the steps before run meanwhile.
        const stageOf = (index: number): Promise<StageResult> => need(String(index));
        const keyOf = async (from: SourceLocation): Promise<string> =>
          from.kind === 'stage'
            ? (await stageOf(from.index)).key
            : from.kind === 'image'
              ? (bases.get(from.ref)?.manifest.digest ?? from.ref)
              : 'context';
        const sourceDir = async (from: Exclude<SourceLocation, { kind: 'context' }>): Promise<string> =>
          views.dirFor(from.kind === 'stage' ? (await stageOf(from.index)).snapshot : await imageTop(from.ref));
        let state = await startStage(stage, stageOf, bases, imageTop);
        for (const step of stage.steps) {
          if (step.kind === 'source') {
            progress.emit({ type: 'step', id: step.id, name: step.name, status: 'cached' });
            continue;
          }
          if (step.kind === 'config') {
            if (step.history) state = { ...state, history: [...state.history, { created: state.created, ...step.history }] };
            continue;
          }
          const parts: StepKeyParts =
            step.kind === 'exec' ? await execKeyParts(step, context, checksums) : await fileKeyParts(step, context, checksums);
          const inputs = await Promise.all(parts.reads.map(keyOf));
          // Layers made with SOURCE_DATE_EPOCH have clamped times: a different result, a different key.
          const definition = epoch === undefined ? parts.definition : { step: parts.definition, sourceDateEpoch: epoch };
          const key = cacheKey({ definition, parent: state.key, inputs, content: parts.content });
          const skipCache = request.noCache === true || (request.noCacheFilter ?? []).some((n) => n.toLowerCase() === stage.name);
          const location = `${path.resolve(dockerfilePath)}#${stage.index}#${step.id}`;
          const current = { definition: cacheKey({ definition }), parent: state.key, inputs, content: parts.content };
          const parent = state.snapshot;
          // An identical step (same key) already running in another stage is awaited, not rerun.
          const running = skipCache ? undefined : inFlight.get(key);
          let record: CacheRecord;
          if (running) {
            record = await running;
            cached++;
            progress.emit({ type: 'step', id: step.id, name: step.name, status: 'cached' });
          } else {
            const solving = (async (): Promise<CacheRecord> => {
              let hit = skipCache ? undefined : await validRecord(await cache.get(key), snapshotter, store, lease);
              const fromImport = imported.get(key);
              if (!hit && !skipCache && fromImport) {
                hit = await slot(() => restoreStep(key, fromImport, parent, { snapshotter, root }, store, applier, request.signal));
                await cache.put(key, hit);
              }
              if (hit) {
                cached++;
                progress.emit({ type: 'step', id: step.id, name: step.name, status: 'cached' });
                return hit;
              }
              // Only the work takes one of the --jobs slots; the checks above wait for nothing.
              return slot(async () => {
                const reason = skipCache ? '--no-cache' : missReason(await cache.lastParts(location), current);
                progress.emit({ type: 'step', id: step.id, name: step.name, status: 'started', reason });
                const started = Date.now();
                const name = stepSnapshotName(key);
                const layer =
                  step.kind === 'exec'
                    ? await runExec(step, parent, name, {
                        snapshotter,
                        executor: runtime,
                        differ,
                        root,
                        contextSource: (source) => contextViews.pathFor(source, signal),
                        sourceDir,
                        ...(request.secrets ? { secrets: request.secrets } : {}),
                        ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
                        output: (chunk) => progress.emit({ type: 'log', id: step.id, chunk: chunk.toString() }),
                        signal,
                      })
                    : await runFileStep(step, parent, name, {
                        snapshotter,
                        differ,
                        applier,
                        root,
                        context,
                        sourceDir,
                        ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
                        signal,
                      });
                const made = { snapshot: name, layer, created: createdNow(epoch) };
                await cache.put(key, made);
                await cache.rememberParts(location, current);
                ran++;
                progress.emit({ type: 'step', id: step.id, name: step.name, status: 'done', seconds: (Date.now() - started) / 1000 });
                return made;
              });
            })();
            if (!skipCache) inFlight.set(key, solving);
            record = await solving;
          }
          used.set(key, record);
          state = {
            ...state,
            snapshot: record.snapshot,
            key,
            layers: [...state.layers, record.layer],
            history: [...state.history, { created: record.created, ...step.history }],
            created: record.created,
          };
        }
        return state;
      },
      { concurrency: request.jobs ?? Math.max(4, 2 * os.cpus().length), ...(request.signal ? { signal: request.signal } : {}) },
    );
    const target = results.get(String(plan.target.index)) as StageResult;
    const image = await writeImage(
      {
        platform: parsePlatform(target.stage.platform),
        config: target.stage.config,
        ...(target.stage.author ? { author: target.stage.author } : {}),
        layers: target.layers,
        history: target.history,
        created: target.created,
      },
      store,
    );
    if (request.cacheTo) {
      const spec = cacheSpec(request.cacheTo);
      // mode=min: only the steps whose layers the image has.
      const inImage = new Set(target.layers.map((l) => l.descriptor.digest));
      const steps = spec.mode === 'max' ? used : new Map([...used].filter(([, r]) => inImage.has(r.layer.descriptor.digest)));
      await exportCacheTo(spec, steps, transfer);
    }
    const outputs = await writeOutputs(request.outputs ?? [IMAGE_STORE_OUTPUT], image.stored, {
      root,
      store,
      tags,
      ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
      baseLayers: new Set([...bases.values()].flatMap((b) => b.layers.map((l) => l.digest))),
      ...request.registries,
      progress,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const digest = parseDigest(outputs.find((o) => o.digest !== undefined)?.digest ?? image.manifest.digest);
    return { digest, outputs, config: image.config, tags, plan, ran, cached };
  } finally {
    await Promise.all([views.close(), contextViews.close()]);
    await checksums.save();
  }
}

/** Parses the Dockerfile, pulls the images its stages start from and plans with their configs. */
async function planWithBases(
  request: BuildRequest,
  dockerfileText: string,
  dockerfilePath: string,
  targetPlatform: Platform,
  root: string,
  store: LocalContentStore,
  lease: Lease,
  progress: ProgressSink,
): Promise<{ plan: BuildPlan; bases: Map<string, BaseImage> }> {
  const df = parseDockerfile(dockerfileText, { file: path.relative(process.cwd(), dockerfilePath) || dockerfilePath });
  const planOptions: PlanOptions = {
    buildPlatform: hostPlatform(),
    targetPlatform,
    ...(request.target ? { target: request.target } : {}),
    ...(request.buildArgs ? { buildArgs: request.buildArgs } : {}),
    ...(request.labels ? { labels: request.labels } : {}),
  };

  // Pull what the stages start from, then plan with the base configs.
  const bases = new Map<string, BaseImage>();
  const images = new ImageIndex(root);
  const fetchBase = async (ref: string, platform: string): Promise<void> => {
    if (bases.has(ref)) return;
    // Like docker: a base already in the local store is used as is unless --pull.
    const local = request.pull ? undefined : await images.get(formatReference(parseReference(ref)));
    if (local) await lease.add({ blobs: [local.manifest.digest, local.config] });
    const stored = local && local.platform === platform && (await store.info(parseDigest(local.manifest.digest))) ? local : undefined;
    const digests = stored
      ? { digest: parseDigest(stored.manifest.digest), config: parseDigest(stored.config) }
      : await pull(ref, { root, platform, ...request.registries, ...(request.signal ? { signal: request.signal } : {}), progress });
    await lease.add({ blobs: [digests.digest, digests.config] });
    const manifest = JSON.parse((await store.readBytes(digests.digest)).toString()) as Manifest;
    const config = JSON.parse((await store.readBytes(digests.config)).toString()) as ImageConfig;
    await lease.add({ blobs: manifest.layers.map((l) => l.digest) });
    bases.set(ref, { manifest: { mediaType: manifest.mediaType ?? '', digest: digests.digest, size: 0 }, config, layers: manifest.layers });
  };
  const first = planBuild(df, planOptions);
  await Promise.all(imageBases(first).map(({ ref, platform }) => fetchBase(ref, platform)));
  for (const ref of imageSources(first)) await fetchBase(ref, formatPlatform(targetPlatform));
  const plan = planBuild(df, {
    ...planOptions,
    baseImages: Object.fromEntries([...bases].map(([ref, b]) => [ref, b.config.config ?? {}])),
    baseDigests: Object.fromEntries([...bases].map(([ref, b]) => [ref, b.manifest.digest])),
  });
  return { plan, bases };
}

/** Where a stage begins: nothing, another stage's result, or an image's unpacked layers. */
async function startStage(
  stage: PlannedStage,
  stageOf: (index: number) => Promise<StageResult>,
  bases: Map<string, BaseImage>,
  imageTop: (ref: string) => Promise<string | undefined>,
): Promise<StageResult> {
  if (stage.base.kind === 'stage') return { ...(await stageOf(stage.base.index)), stage };
  if (stage.base.kind === 'scratch')
    return { snapshot: undefined, key: 'scratch', layers: [], history: [], created: new Date(0).toISOString(), stage };
  const base = bases.get(stage.base.ref) as BaseImage;
  const diffIDs = base.config.rootfs.diff_ids;
  return {
    snapshot: await imageTop(stage.base.ref),
    key: base.manifest.digest,
    layers: base.layers.map((descriptor, i) => ({ descriptor, diffID: diffIDs[i] ?? '' })),
    history: base.config.history ?? [],
    created: base.config.created ?? new Date(0).toISOString(),
    stage,
  };
}

/** Restores an imported step: its layer into the store, unpacked onto the parent snapshot. */
async function restoreStep(
  key: Digest,
  imported: ImportedStep,
  parent: string | undefined,
  frame: SnapshotFrame,
  store: ContentStore,
  applier: Applier,
  signal?: AbortSignal,
): Promise<CacheRecord> {
  const { snapshotter } = frame;
  const { step } = imported;
  const descriptor = step.layer.descriptor;
  const expected = { digest: parseDigest(descriptor.digest), size: descriptor.size };
  if ((await store.info(expected.digest))?.size !== descriptor.size)
    await store.ingest(await imported.open(signal), expected, signal ? { signal } : {});
  const name = stepSnapshotName(key);
  await withActiveSnapshot(frame, parent, 'restore', async ({ key: active, mounts }) => {
    const diffID = await applier.apply(descriptor, mounts, signal ? { signal } : {});
    if (diffID !== step.layer.diffID) throw new DigestMismatchError(step.layer.diffID, diffID, `imported layer ${descriptor.digest} (diffID)`);
    await snapshotter.commit(name, active);
  });
  return { snapshot: name, layer: step.layer, created: step.created };
}

/**
 * The snapshot name of a step's result: its cache key and a random part, so that builds making the
 * same step at once never collide (the cache index then points at one of them; prune reclaims the
 * other once nothing uses it).
 */
function stepSnapshotName(key: Digest): string {
  return `step-${digestHex(key).slice(0, 32)}-${randomBytes(4).toString('hex')}`;
}

/** A cache record is usable only while its snapshot and layer blob exist (leased first, then checked). */
async function validRecord(
  record: CacheRecord | undefined,
  snapshotter: Snapshotter,
  store: ContentStore,
  lease: Lease,
): Promise<CacheRecord | undefined> {
  if (!record) return undefined;
  await lease.add({ snapshots: [record.snapshot], blobs: [record.layer.descriptor.digest] });
  const snapshot = await snapshotter.stat(record.snapshot).then(
    () => true,
    (err: unknown) => (isNotFound(err) ? false : Promise.reject(err)),
  );
  const blob = await store.info(parseDigest(record.layer.descriptor.digest));
  return snapshot && blob ? record : undefined;
}

/** Images read by `COPY --from=<image>` or `RUN --mount from=<image>`. */
function imageSources(plan: BuildPlan): string[] {
  const refs = new Set<string>();
  for (const stage of plan.stages) {
    for (const step of stage.steps) {
      if (step.kind === 'file' && step.from.kind === 'image') refs.add(step.from.ref);
      if (step.kind === 'exec') for (const m of step.mounts) if ('from' in m && m.from?.kind === 'image') refs.add(m.from.ref);
    }
  }
  return [...refs];
}

/** SOURCE_DATE_EPOCH from the build args or the environment, in seconds. */
function sourceDateEpoch(buildArgs: Record<string, string> | undefined): number | undefined {
  const text = buildArgs?.SOURCE_DATE_EPOCH ?? process.env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`invalid SOURCE_DATE_EPOCH: ${text}`);
  return Number(text);
}

function createdNow(epoch: number | undefined): string {
  return new Date(epoch === undefined ? Date.now() : epoch * 1000).toISOString();
}

/** A cache spec; a bare string is a local cache directory. */
function cacheSpec(spec: CacheSpec | string): CacheSpec {
  return typeof spec === 'string' ? { type: 'local', dir: spec, mode: 'max' } : spec;
}
