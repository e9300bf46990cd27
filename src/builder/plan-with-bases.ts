/**
 * Planning a build with its base images: a first plan names the images the target's stages start
 * from (and read with `COPY --from` / `RUN --mount from=`); they are fetched for the platform each
 * stage runs as (`base-images.ts`); the final plan is made with their configs (inherited ENV, WORKDIR, ONBUILD triggers) and digests.
 */
import type { Dockerfile } from '../dockerfile/parse.js';
import { parseDockerfile } from '../dockerfile/parse.js';
import { displayPath } from '../context/dockerfile-file.js';
import { formatPlatform, type Platform } from '../image/platform.js';
import { imageBases, planBuild, type PlanOptions } from '../plan/plan.js';
import type { BuildPlan } from '../plan/types.js';
import type { BaseImage, BaseImages } from './base-images.js';

export interface PlanInputs {
  /** The Dockerfile's path (for messages) and text. */
  file: string;
  text: string;
  buildPlatform: Platform;
  targetPlatform: Platform;
  target?: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  /** Named contexts as the image references standing in for them (`named-contexts.ts`). */
  namedContexts?: Record<string, string>;
}

export async function planWithBases(inputs: PlanInputs, bases: BaseImages): Promise<BuildPlan> {
  const df: Dockerfile = parseDockerfile(inputs.text, { file: displayPath(inputs.file) });
  const options: PlanOptions = {
    buildPlatform: inputs.buildPlatform,
    targetPlatform: inputs.targetPlatform,
    ...(inputs.target ? { target: inputs.target } : {}),
    ...(inputs.buildArgs ? { buildArgs: inputs.buildArgs } : {}),
    ...(inputs.labels ? { labels: inputs.labels } : {}),
    ...(inputs.namedContexts ? { namedContexts: inputs.namedContexts } : {}),
  };
  const first = planBuild(df, options);
  const target = formatPlatform(inputs.targetPlatform);
  const wanted = [...imageBases(first), ...imageSources(first).map((ref) => ({ ref, platform: target }))];
  const fetched = await Promise.all(wanted.map(async ({ ref, platform }) => ({ ref, platform, image: await bases.fetch(ref, platform) })));
  // The planner knows an image by its reference: where a stage needs it for another platform too
  // (`FROM --platform=$BUILDPLATFORM`), the target platform's config is the one it reads.
  const byRef = new Map<string, BaseImage>();
  for (const { ref, platform, image } of fetched) if (!byRef.has(ref) || platform === target) byRef.set(ref, image);
  return planBuild(df, {
    ...options,
    baseImages: Object.fromEntries([...byRef].map(([ref, b]) => [ref, b.config.config ?? {}])),
    baseDigests: Object.fromEntries([...byRef].map(([ref, b]) => [ref, b.manifest.digest])),
    baseAuthors: Object.fromEntries([...byRef].flatMap(([ref, b]) => (b.config.author ? [[ref, b.config.author]] : []))),
  });
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
