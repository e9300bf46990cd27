/**
 * The build pipeline over an open state root: base images fetched and the plan made with their
 * configs (`plan-with-bases.ts`), while the snapshotter is chosen and what killed builds left is
 * reclaimed; then the stages through the solver (independent stages in parallel, `run-stage.ts`),
 * each step resolved against the cache; the target stage's layers, config and history become an
 * image in the content store (`assemble.ts`); the build cache is exported; and the image goes to its
 * outputs. Everything the build uses is held by a lease until it ends.
 */
import os from 'node:os';
import path from 'node:path';
import type { CacheRecord } from '../cache/cache-index.js';
import type { CacheSpec } from '../cache/cache-spec.js';
import { loadBuildContext } from '../context/build-context.js';
import { displayPath, readDockerfile } from '../context/dockerfile-file.js';
import { StoreApplier } from '../diff/applier.js';
import { MountDiffer } from '../diff/differ.js';
import { parseDigest } from '../digest/digest.js';
import { checkOutputNames, IMAGE_STORE_OUTPUT, writeOutputs } from '../export/write-outputs.js';
import { ChecksumCache } from '../fileops/checksum.js';
import { parsePlatform } from '../image/platform.js';
import type { BuildPlan, PlannedStage } from '../plan/types.js';
import type { NetworkMode, NetworkProvider } from '../network/network.js';
import { createNetworkProvider } from '../network/providers.js';
import { checkEntitlements, effectiveNetwork } from './entitlements.js';
import { nullSink } from '../progress/events.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { solve } from '../solve/solver.js';
import { StepResolver } from '../solve/step-resolver.js';
import { hostPlatform } from '../state/host-platform.js';
import type { StateRoot } from '../state/state-root.js';
import type { Lease } from '../util/lease.js';
import { registryOptions } from '../registry/configured-client.js';
import { writeImage } from './assemble.js';
import { BaseImages } from './base-images.js';
import type { BuildRequest, BuildResult } from './build-request.js';
import { exportCacheTo, importCache, type ImportedStep } from './cache-transfer.js';
import { ContextViews } from './context-views.js';
import { planWithBases } from './plan-with-bases.js';
import { runStage, type StageResult } from './run-stage.js';
import { sourceDateEpoch } from './source-date-epoch.js';
import { SourceViews } from './source-dirs.js';
import { BuildStepCache } from './step-cache.js';

/**
 * Builds `request` in the state root `open` gives, which is opened only once the inputs check out
 * (a build refused for a missing Dockerfile or a bad name writes nothing).
 */
export async function runBuild(open: () => Promise<StateRoot>, request: BuildRequest): Promise<BuildResult> {
  const dockerfile = await readDockerfile(request.context, request.dockerfile, request.signal);
  // Names and the platform are checked before anything runs (docker refuses a bad -t up front too).
  const tags = (request.tags ?? []).map((t) => formatReference(parseReference(t)));
  checkOutputNames(request.outputs ?? [], tags);
  const targetPlatform = request.platform ? parsePlatform(request.platform) : hostPlatform();
  const epoch = sourceDateEpoch(request.buildArgs);
  const root = await open();
  // What this build uses stays out of a concurrent prune's reach until it ends.
  const lease = await root.lease();
  try {
    return await buildLeased(root, request, { dockerfile, tags, targetPlatform, epoch, lease });
  } finally {
    await lease.close();
  }
}

interface Prepared {
  dockerfile: { file: string; text: string };
  tags: string[];
  targetPlatform: ReturnType<typeof hostPlatform>;
  epoch: number | undefined;
  lease: Lease;
}

async function buildLeased(root: StateRoot, request: BuildRequest, prepared: Prepared): Promise<BuildResult> {
  const { dockerfile, tags, epoch, lease } = prepared;
  const progress = request.progress ?? nullSink;
  const signal = request.signal ? { signal: request.signal } : {};
  const registry = registryOptions(request);
  // The snapshotter is chosen (on a new root: a test mount) and what a killed run left is reclaimed
  // while the base images are pulled: nothing before the stages needs them.
  const snapshotterReady = root
    .snapshotter((text) => progress.emit({ type: 'message', text }))
    .then(async (chosen) => {
      await root.reclaim();
      return chosen;
    });
  const bases = new BaseImages(root, lease, { ...registry, ...signal, progress, ...(request.pull ? { pull: true } : {}) });
  const planned = planWithBases(
    {
      ...dockerfile,
      buildPlatform: hostPlatform(),
      targetPlatform: prepared.targetPlatform,
      ...(request.target ? { target: request.target } : {}),
      ...(request.buildArgs ? { buildArgs: request.buildArgs } : {}),
      ...(request.labels ? { labels: request.labels } : {}),
    },
    bases,
  );
  // Both settle before the build does, so a failed pull never leaves the test mount behind it.
  await Promise.allSettled([planned, snapshotterReady]);
  const plan = withNetworks(await planned, request.network);
  // Every numbered step shows once (cached or run), plus the export: the view's total from the start.
  const numbered = plan.stages.flatMap((s) => s.steps).filter((s) => s.kind !== 'config' || s.name.startsWith('['));
  progress.emit({ type: 'plan', steps: numbered.length + 1 });
  const snapshotter = await snapshotterReady;
  checkEntitlements(plan, displayPath(dockerfile.file), request.network, request.allow ?? []);
  const networks = new Map<NetworkMode, NetworkProvider>();
  const networkFor = (mode: NetworkMode): NetworkProvider => {
    let provider = networks.get(mode);
    if (!provider) networks.set(mode, (provider = createNetworkProvider(mode, { root: root.path })));
    return provider;
  };

  const context = await loadBuildContext(request.context, dockerfile.file);
  const checksums = await ChecksumCache.for(root.path, request.context).load();
  const views = new SourceViews(snapshotter, root.path);
  const contextViews = new ContextViews(context, root.path);
  const differ = new MountDiffer(root.store, root.path);
  const applier = new StoreApplier(root.store);
  const transfer = { root, progress, ...registry, ...signal };
  const imported = new Map<string, ImportedStep>();
  for (const spec of request.cacheFrom ?? []) for (const [key, step] of await importCache(cacheSpec(spec), transfer)) imported.set(key, step);
  const resolver = new StepResolver(new BuildStepCache(root.cache, snapshotter, root.store, lease), progress);
  const used = new Map<string, CacheRecord>();
  const noCacheFilter = new Set((request.noCacheFilter ?? []).map((n) => n.toLowerCase()));
  const dockerfilePath = path.resolve(dockerfile.file);
  const epochOption = epoch === undefined ? {} : { sourceDateEpoch: epoch };

  try {
    const env = {
      bases,
      snapshotter,
      applier,
      views,
      resolver,
      progress,
      used,
      // The name BuildKit prints: the -f path as given, else the file's name in the context.
      dockerfile: { file: request.dockerfile ?? path.basename(dockerfile.file), source: dockerfile.text },
      location: (stage: PlannedStage, stepId: string) => `${dockerfilePath}#${stage.index}#${stepId}`,
      skipCache: (stage: PlannedStage) => request.noCache === true || noCacheFilter.has(stage.name),
      steps: {
        context,
        checksums,
        epoch,
        store: root.store,
        applier,
        imported,
        exec: {
          snapshotter,
          executor: root.executor,
          differ,
          root: root.path,
          contextSource: (source: string) => contextViews.pathFor(source, request.signal),
          networks: networkFor,
          sandbox: {
            ...(request.addHosts ? { extraHosts: request.addHosts } : {}),
            ...(request.shmSize === undefined ? {} : { shmSize: request.shmSize }),
            ...(request.ulimits ? { ulimits: request.ulimits } : {}),
          },
          ...(request.secrets ? { secrets: request.secrets } : {}),
          ...epochOption,
        },
        file: { snapshotter, differ, applier, root: root.path, context, ...epochOption },
      },
    };
    const results = await solve<StageResult>(
      plan.stages.map((s) => ({ id: String(s.index), deps: s.needs.map(String) })),
      (id, run) => runStage(plan.stages.find((s) => String(s.index) === id) as PlannedStage, run, env),
      { concurrency: request.jobs ?? Math.max(4, 2 * os.cpus().length), ...signal },
    );
    const target = results.get(String(plan.target.index)) as StageResult;
    // Writing the image and its outputs is a phase of its own, so the view never freezes on it.
    const exportStarted = Date.now();
    progress.emit({ type: 'step', id: 'export', name: 'exporting to image', status: 'started' });
    const image = await writeImage(
      {
        platform: parsePlatform(target.stage.platform),
        config: target.stage.config,
        ...(target.stage.author ? { author: target.stage.author } : {}),
        layers: target.layers,
        history: target.history,
        created: target.created,
      },
      root.store,
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
      tags,
      ...epochOption,
      baseLayers: new Set([...bases.all().values()].flatMap((b) => b.layers.map((l) => l.digest))),
      ...registry,
      progress,
      ...signal,
    });
    progress.emit({ type: 'step', id: 'export', name: 'exporting to image', status: 'done', seconds: (Date.now() - exportStarted) / 1000 });
    const digest = parseDigest(outputs.find((o) => o.digest !== undefined)?.digest ?? image.manifest.digest);
    return { digest, outputs, config: image.config, tags, plan, ran: resolver.ran, cached: resolver.cached };
  } finally {
    await Promise.all([views.close(), contextViews.close(), ...[...networks.values()].map((n) => n.close())]);
    await checksums.save();
  }
}

/** The plan with every RUN's network as it runs: its own `--network`, else the build's. */
function withNetworks(plan: BuildPlan, network: NetworkMode | undefined): BuildPlan {
  if (network === undefined || network === 'default') return plan;
  return {
    ...plan,
    stages: plan.stages.map((stage) => ({
      ...stage,
      steps: stage.steps.map((step) => (step.kind === 'exec' ? { ...step, network: effectiveNetwork(step, network) } : step)),
    })),
  };
}

/** A cache spec; a bare string is a local cache directory. */
function cacheSpec(spec: CacheSpec | string): CacheSpec {
  return typeof spec === 'string' ? { type: 'local', dir: spec, mode: 'max' } : spec;
}
