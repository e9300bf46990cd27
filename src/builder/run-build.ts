/**
 * The build pipeline over an open state root: base images fetched and the plan made with their
 * configs (`plan-with-bases.ts`), while the snapshotter is chosen and what killed builds left is
 * reclaimed; then the stages through the solver (independent stages in parallel, `run-stage.ts`),
 * each step resolved against the cache; the target stage's layers, config and history become an
 * image in the content store (`assemble.ts`); the build cache is exported; and the image goes to its
 * outputs. Several target platforms are a loop around this: a plan per platform, their stages one
 * graph for the solver (`platform-graph.ts`), an image per platform and an index over them. Everything the build uses is held by a lease until it ends.
 */
import os from 'node:os';
import path from 'node:path';
import type { CacheSpec } from '../cache/cache-spec.js';
import { removeUnrecordedSteps } from '../cache/unrecorded-steps.js';
import { loadBuildContext } from '../context/build-context.js';
import { displayPath, readDockerfile } from '../context/dockerfile-file.js';
import { parseDigest } from '../digest/digest.js';
import { checkOutputNames, checkOutputPlatforms, IMAGE_STORE_OUTPUT, writeOutputs } from '../export/write-outputs.js';
import { writeIndex } from '../export/platform-index.js';
import { FileMirror } from '../fileops/file-mirror.js';
import { ChecksumCache } from '../fileops/checksum.js';
import { formatPlatform, parsePlatform, type Platform } from '../image/platform.js';
import { checkEmulation } from '../runtime/emulation.js';
import { PlatformGraph, platformsRunning } from './platform-graph.js';
import { targetPlatforms } from './target-platforms.js';
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
import type { Lease, PendingStep } from '../util/lease.js';
import { registryOptions } from '../registry/configured-client.js';
import { writeImage } from './assemble.js';
import { BaseImages } from './base-images.js';
import type { BuildRequest, BuildResult } from './build-request.js';
import { exportCacheTo, importCache, type ImportedStep } from './cache-transfer.js';
import { ContextViews } from './context-views.js';
import { withLocalContext } from './context-input.js';
import { planWithBases } from './plan-with-bases.js';
import { runStage, type StageResult } from './run-stage.js';
import { sourceDateEpoch } from './source-date-epoch.js';
import { SourceViews } from './source-dirs.js';
import { parseBuildContext, resolveNamedContexts, type NamedContext } from './named-contexts.js';
import { openSshAgents } from './ssh-agents.js';
import { BuildStepCache } from './step-cache.js';
import { recordOf, type StepResult } from './step-ops.js';

/**
 * Builds `request` in the state root `open` gives, which is opened only once the inputs check out
 * (a build refused for a missing Dockerfile or a bad name writes nothing).
 */
export async function runBuild(open: () => Promise<StateRoot>, request: BuildRequest): Promise<BuildResult> {
  return withLocalContext(request, async (local, opened) => {
    // A fetched context is new each time: its stat cache would only fill the state root.
    const result = await runLocal(open, local, opened.kind !== 'dir');
    return opened.commit === undefined ? result : { ...result, contextCommit: opened.commit };
  });
}

/** Builds with the context a local directory. */
async function runLocal(open: () => Promise<StateRoot>, request: BuildRequest, fetched: boolean): Promise<BuildResult> {
  const dockerfile = await readDockerfile(request.context, request.dockerfile, request.signal);
  // Names and the platform are checked before anything runs (docker refuses a bad -t up front too).
  const tags = (request.tags ?? []).map((t) => formatReference(parseReference(t)));
  checkOutputNames(request.outputs ?? [], tags);
  const specs = request.platform === undefined ? [] : typeof request.platform === 'string' ? [request.platform] : request.platform;
  const targets = targetPlatforms(specs, hostPlatform());
  checkOutputPlatforms(request.outputs ?? [], targets.map(formatPlatform));
  const epoch = sourceDateEpoch(request.buildArgs);
  const contexts = Object.entries(request.buildContexts ?? {}).map(([name, source]) => parseBuildContext(`${name}=${source}`));
  const root = await open();
  // What this build uses stays out of a concurrent prune's reach until it ends.
  const lease = await root.lease();
  try {
    return await buildLeased(root, request, { dockerfile, tags, targets, epoch, lease, fetched, contexts });
  } finally {
    await lease.close();
  }
}

interface Prepared {
  dockerfile: { file: string; text: string };
  tags: string[];
  /** The platforms to build for, in the order asked (several make an image index). */
  targets: Platform[];
  epoch: number | undefined;
  lease: Lease;
  /** The context was fetched into a scratch directory (git, URL, stdin). */
  fetched: boolean;
  contexts: NamedContext[];
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
  // Named contexts become images first: the plan reads their references (and configs). They are
  // resolved for the first target platform (BuildKit's per-platform `name::platform` is not read).
  const namedContexts = resolveNamedContexts(prepared.contexts, {
    bases,
    store: root.store,
    differ: root.differ,
    root: root.path,
    platform: prepared.targets[0] as Platform,
    ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
    ...signal,
  });
  // One plan per target platform (its TARGET* args, its base images), made at once.
  const planned = namedContexts.then((contexts) =>
    Promise.all(
      prepared.targets.map((targetPlatform) =>
        planWithBases(
          {
            ...dockerfile,
            buildPlatform: hostPlatform(),
            targetPlatform,
            ...(request.target ? { target: request.target } : {}),
            ...(request.buildArgs ? { buildArgs: request.buildArgs } : {}),
            ...(request.labels ? { labels: request.labels } : {}),
            namedContexts: contexts,
          },
          bases,
        ),
      ),
    ),
  );
  // Both settle before the build does, so a failed pull never leaves the test mount behind it.
  await Promise.allSettled([planned, snapshotterReady]);
  const plans = (await planned).map((plan) => withNetworks(plan, request.network));
  // Every numbered step shows once (cached or run), plus the export: the view's total from the start.
  const numbered = plans.flatMap((p) => p.stages.flatMap((s) => s.steps)).filter((s) => s.kind !== 'config' || s.name.startsWith('['));
  progress.emit({ type: 'plan', steps: numbered.length + 1 });
  const snapshotter = await snapshotterReady;
  for (const plan of plans) checkEntitlements(plan, displayPath(dockerfile.file), request.network, request.allow ?? []);
  // A foreign platform's RUN needs an emulator: missing, the build stops before any step.
  await checkEmulation(hostPlatform(), platformsRunning(plans));
  const platformGraph = new PlatformGraph(plans);
  const networks = new Map<NetworkMode, NetworkProvider>();
  const networkFor = (mode: NetworkMode): NetworkProvider => {
    let provider = networks.get(mode);
    if (!provider) networks.set(mode, (provider = createNetworkProvider(mode, { root: root.path })));
    return provider;
  };

  const context = await loadBuildContext(request.context, dockerfile.file);
  const checksums = await (prepared.fetched ? new ChecksumCache() : ChecksumCache.for(root.path, request.context, root.warn)).load();
  const views = new SourceViews(snapshotter, root.path);
  const contextViews = new ContextViews(context, root.path);
  const { differ, applier } = root;
  const transfer = { root, progress, ...registry, ...signal };
  const imported = new Map<string, ImportedStep>();
  for (const spec of request.cacheFrom ?? []) for (const [key, step] of await importCache(cacheSpec(spec), transfer)) imported.set(key, step);
  const resolver = new StepResolver(new BuildStepCache(root.cache, snapshotter, root.store, lease), progress);
  const used = new Map<string, StepResult>();
  const noCacheFilter = new Set((request.noCacheFilter ?? []).map((n) => n.toLowerCase()));
  const dockerfilePath = path.resolve(dockerfile.file);
  const epochOption = epoch === undefined ? {} : { sourceDateEpoch: epoch };
  const ssh = await openSshAgents(request.ssh ?? [], root.path, request.signal);

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
        ...signal,
        pending: (step: PendingStep) => lease.pending(step),
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
          sshAgents: ssh.sockets,
          ...epochOption,
        },
        // A fetched context (git, tarball, stdin) is new files each time: nothing to link again.
        file: {
          snapshotter,
          differ,
          applier,
          root: root.path,
          context,
          ...(prepared.fetched ? {} : { mirror: FileMirror.of(root.path) }),
          ...epochOption,
        },
      },
    };
    // One solve for every platform: steps whose keys agree (a `FROM --platform=$BUILDPLATFORM`
    // stage, a COPY into scratch) run once, the resolver handing the others the same result.
    const results = await solve<StageResult>(
      platformGraph.vertices(),
      (id, run) => {
        const { stage, need } = platformGraph.vertex(id, run);
        return runStage(stage, { ...run, need }, env);
      },
      { concurrency: request.jobs ?? Math.max(4, 2 * os.cpus().length), ...signal },
    );
    // The cache records of steps that handed their results on (their layers the stages awaited).
    await resolver.settled();
    // Writing the images and their outputs is a phase of its own, so the view never freezes on it.
    const exportStarted = Date.now();
    progress.emit({ type: 'step', id: 'export', name: 'exporting to image', status: 'started' });
    const targets = platformGraph.targets(results);
    const images: Array<Awaited<ReturnType<typeof writeImage>>> = [];
    for (const target of targets) {
      images.push(
        await writeImage(
          {
            platform: parsePlatform(target.stage.platform),
            config: target.stage.config,
            ...(target.stage.author ? { author: target.stage.author } : {}),
            layers: target.layers,
            history: target.history,
            created: target.created,
          },
          root.store,
        ),
      );
    }
    if (request.cacheTo) {
      const spec = cacheSpec(request.cacheTo);
      // mode=min: only the steps whose layers the images have.
      const inImage = new Set(targets.flatMap((target) => target.layers.map((l) => l.descriptor.digest)));
      const records = new Map(await Promise.all([...used].map(async ([key, result]) => [key, await recordOf(result)] as const)));
      const steps = spec.mode === 'max' ? records : new Map([...records].filter(([, r]) => inImage.has(r.layer.descriptor.digest)));
      await exportCacheTo(spec, steps, transfer);
    }
    const stored = images.map((image) => image.stored);
    const outputs = await writeOutputs(request.outputs ?? [IMAGE_STORE_OUTPUT], stored, {
      root,
      tags,
      ...epochOption,
      baseLayers: new Set(bases.all().flatMap((b) => b.layers.map((l) => l.digest))),
      ...registry,
      progress,
      ...signal,
    });
    progress.emit({ type: 'step', id: 'export', name: 'exporting to image', status: 'done', seconds: (Date.now() - exportStarted) / 1000 });
    const first = images[0] as (typeof images)[number];
    // Without an image output, the build's digest is still its image's, or its index's.
    const own = images.length === 1 ? first.manifest.digest : (await writeIndex(root.store, stored, true)).descriptor.digest;
    const digest = parseDigest(outputs.find((o) => o.digest !== undefined)?.digest ?? own);
    const plan = plans[0] as BuildPlan;
    const platforms = prepared.targets.map(formatPlatform);
    return { digest, outputs, config: first.config, tags, plan, platforms, ran: resolver.ran, cached: resolver.cached };
  } finally {
    // A failed build still lets the steps finishing their layers end before their views go.
    await resolver.settled().catch(() => undefined);
    await Promise.all([views.close(), contextViews.close(), ssh.close(), ...[...networks.values()].map((n) => n.close())]);
    // Steps that committed their snapshot but wrote no cache record (the build failed meanwhile):
    // their snapshots go now, not at the next prune. What cannot go now waits for that prune.
    await removeUnrecordedSteps(root.path, snapshotter, root.cache, lease.pendingSteps()).catch(() => undefined);
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
