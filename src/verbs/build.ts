/** `build`: a Dockerfile and its context into an image (`builder/run-build.ts` over the state root). */
import type { BuildRequest, BuildResult } from '../builder/build-request.js';
import { runBuild } from '../builder/run-build.js';
import { StateRoot } from '../state/state-root.js';

export type { BuildRequest, BuildResult } from '../builder/build-request.js';

export async function build(request: BuildRequest): Promise<BuildResult> {
  return runBuild(() => StateRoot.open(request.root, request.progress), request);
}
