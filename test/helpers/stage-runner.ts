/**
 * Runs the target stage of a planned Dockerfile below the solver: a busybox base unpacked into
 * snapshots, then each RUN, COPY, ADD and WORKDIR step in order with the real ops.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadBuildContext } from '../../src/context/build-context.js';
import { LocalContentStore } from '../../src/content/local-store.js';
import { applyLayer } from '../../src/diff/applier.js';
import type { LayerResult } from '../../src/diff/layer-writer.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { runExec } from '../../src/ops/exec-op.js';
import { runFileStep } from '../../src/ops/file-op.js';
import { FileMirror } from '../../src/fileops/file-mirror.js';
import { planBuild } from '../../src/plan/plan.js';
import { withMounted } from '../../src/runtime/mount.js';
import { RuncExecutor } from '../../src/runtime/runc.js';
import { StoreApplier } from '../../src/diff/applier.js';
import { MountDiffer } from '../../src/diff/differ.js';
import { testNetworks } from './networks.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { busyboxLayer } from './oci-image.js';
import { treeListing } from './umoci.js';

export interface StageRun {
  root: string;
  store: LocalContentStore;
  snaps: OverlaySnapshotter;
  /** The committed snapshot after the last step. */
  last: string;
  layers: LayerResult[];
  output: string;
  /** The listing of the final root filesystem under `under`. */
  listing(under: string): Promise<string[]>;
}

export async function runStage(
  dockerfile: string,
  options: {
    root: string;
    context?: string;
    buildArgs?: Record<string, string>;
    scratch: () => string;
    /** COPY links context files from the root's file mirror, as a build does (`fileops/file-mirror.ts`). */
    mirror?: boolean;
  },
): Promise<StageRun> {
  const { root } = options;
  const store = new LocalContentStore(root);
  const snaps = new OverlaySnapshotter(root);
  // A second stage on the same root (a rebuild) finds the base there.
  if (!(await snaps.list()).some((s) => s.key === 'base')) {
    await snaps.prepare('unpack');
    await applyLayer(Readable.from([(await busyboxLayer()).gz]), await snaps.upperDir('unpack'), { mode: 'overlay' });
    await snaps.commit('base', 'unpack');
  }
  const plan = planBuild(parseDockerfile(dockerfile), {
    buildPlatform: { os: 'linux', architecture: 'amd64' },
    baseImages: { base: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } },
    ...(options.buildArgs ? { buildArgs: options.buildArgs } : {}),
  });
  const context = options.context ? await loadBuildContext(options.context) : undefined;
  const executor = new RuncExecutor(root);
  const differ = new MountDiffer(store, root);
  const applier = new StoreApplier(store);
  let last = 'base';
  let output = '';
  const layers: LayerResult[] = [];
  const nets = testNetworks(root);
  try {
    for (const step of plan.stages.at(-1)?.steps ?? []) {
      if (step.kind !== 'exec' && step.kind !== 'file') continue;
      const name = `step-${randomBytes(4).toString('hex')}`;
      if (step.kind === 'exec')
        layers.push(
          await runExec(step, last, name, {
            snapshotter: snaps,
            executor,
            differ,
            root,
            networks: nets.networks,
            output: (c) => (output += c.toString()),
          }),
        );
      else
        layers.push(
          await runFileStep(step, last, name, {
            snapshotter: snaps,
            differ,
            applier,
            root,
            ...(context ? { context } : {}),
            ...(options.mirror ? { mirror: FileMirror.of(root) } : {}),
          }),
        );
      last = name;
    }
  } finally {
    await nets.close();
  }
  const listing = async (under: string): Promise<string[]> => {
    const mnt = path.join(options.scratch(), 'view');
    mkdirSync(mnt);
    const key = `view-${randomBytes(4).toString('hex')}`;
    try {
      return await withMounted(await snaps.view(key, last), mnt, async () => treeListing(path.join(mnt, under)));
    } finally {
      await snaps.remove(key);
    }
  };
  return { root, store, snaps, last, layers, output, listing };
}
