/**
 * The library façade: from a context directory and options to results. For now it goes as far as the
 * plan (`loadPlan`); pulling, running and exporting build on it in later modules.
 */
import { parseDockerfile } from '../dockerfile/parse.js';
import { parsePlatform } from '../image/platform.js';
import { imageBases, planBuild, type PlanOptions } from '../plan/plan.js';
import { resolveRemoteImage } from './pull.js';
import { registryOptions, type CommonOptions, type RegistryOptions } from './options.js';
import { hostPlatform } from '../state/host-platform.js';
import type { ContainerConfig } from '../image/oci-types.js';
import type { BuildPlan } from '../plan/types.js';
import { displayPath, readDockerfile } from '../context/dockerfile-file.js';
import { withLocalContext } from '../builder/context-input.js';
import type { Readable } from 'node:stream';

/** What to plan: the same inputs `tsbuild build` takes. */
export interface PlanRequest extends RegistryOptions, Pick<CommonOptions, 'root' | 'signal'> {
  /**
   * The build context: a directory, `-` (a tar archive, or a Dockerfile alone, on `stdin`), a git
   * repository (`https://host/repo.git#ref:subdir`, `git://…`, `git@host:repo`) or an archive URL.
   */
  context: string;
  /** The Dockerfile path (`-`: read from `stdin`); `<context>/Dockerfile` (or `dockerfile`) when absent. */
  dockerfile?: string;
  /** Where `-` reads from (default: the process's stdin). */
  stdin?: Readable;
  /** The stage to build; the last one when absent. */
  target?: string;
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** The target platform (`linux/arm64`); the host's when absent. */
  platform?: string;
  /** `--label` values for the final image. */
  labels?: Record<string, string>;
  /**
   * Look base images up in their registries (manifest and config only, no layers) so the plan
   * knows what they bring: inherited ENV, CMD, ONBUILD triggers and the pinned digest.
   */
  resolveBaseImages?: boolean;
}

/** Reads the Dockerfile named by `request` and plans the build. */
export async function loadPlan(request: PlanRequest): Promise<BuildPlan> {
  const { file, text } = await withLocalContext(request, (local) => readDockerfile(local.context, local.dockerfile, request.signal));
  const df = parseDockerfile(text, { file: displayPath(file) });
  const options: PlanOptions = {
    buildPlatform: hostPlatform(),
    ...(request.platform === undefined ? {} : { targetPlatform: parsePlatform(request.platform) }),
    ...(request.target === undefined ? {} : { target: request.target }),
    ...(request.buildArgs === undefined ? {} : { buildArgs: request.buildArgs }),
    ...(request.labels === undefined ? {} : { labels: request.labels }),
  };
  const plan = planBuild(df, options);
  if (!request.resolveBaseImages) return plan;
  // Plan once to learn which images the target needs, resolve them, plan again with their configs.
  const baseImages: Record<string, ContainerConfig> = {};
  const baseDigests: Record<string, string> = {};
  const baseAuthors: Record<string, string> = {};
  await Promise.all(
    imageBases(plan).map(async ({ ref, platform }) => {
      const image = await resolveRemoteImage(ref, { ...registryOptions(request), platform, ...(request.signal ? { signal: request.signal } : {}) });
      baseImages[ref] = image.config.parsed.config ?? {};
      baseDigests[ref] = image.manifest.digest;
      if (image.config.parsed.author) baseAuthors[ref] = image.config.parsed.author;
    }),
  );
  return planBuild(df, { ...options, baseImages, baseDigests, baseAuthors });
}
