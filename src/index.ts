/**
 * tsbuild's public API. Import from `tsbuild`; everything else is internal and may change.
 */
export { loadPlan, hostPlatform, type PlanRequest } from './build.js';
export { parseDockerfile, type Dockerfile, type Stage } from './dockerfile/parse.js';
export type { Instruction, StageInstruction } from './dockerfile/instructions.js';
export { DockerfileError, type ErrorLocation, type SourcePosition, type SourceRange } from './dockerfile/errors.js';
export { expandWord, expandWords, ExpansionError, type Lookup } from './dockerfile/expand.js';
export { planBuild, type PlanOptions } from './plan/plan.js';
export { formatPlan } from './plan/format.js';
export { parsePlatform, formatPlatform, type Platform } from './image/platform.js';
export type * from './plan/types.js';
export type { ContainerConfig, HistoryEntry, ImageConfig } from './image/oci-types.js';
export {
  TsbuildError,
  InvalidArgumentError,
  NotFoundError,
  UnsupportedError,
  InternalError,
  isNotFound,
  isInvalidArgument,
  type ErrorCode,
} from './errors.js';
