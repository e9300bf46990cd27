/**
 * tsbuild's public API: the verbs, the types of their options and results, and the errors they
 * throw; nothing else at run time (test/public-api.test.ts pins the list). The rest is subpath
 * exports: `tsbuild/options` (the command line's value syntax → option values),
 * `tsbuild/dockerfile`, `tsbuild/plan` and `tsbuild/lint` (with the formatters of plans and
 * reports), `tsbuild/registry`, `tsbuild/storage` and `tsbuild/rootless`.
 */
export { build, type BuildRequest, type BuildResult } from './verbs/build.js';
export { loadPlan, type PlanRequest } from './verbs/plan.js';
export { checkDockerfile, outlineDockerfile, dockerfileTargets, type CheckRequest, type CheckResult } from './verbs/check.js';
export type { Outline } from './lint/outline.js';
export type { BuildTarget } from './lint/targets.js';
export { pull, pullAllPlatforms, resolveRemoteImage, type PullAllResult, type PullOptions, type PullResult } from './verbs/pull.js';
export type { ResolvedImage } from './registry/remote-image.js';
export { push, type PushOptions, type PushResult } from './verbs/push.js';
export { load, type LoadOptions, type LoadedImage } from './verbs/load.js';
export {
  listImages,
  findImage,
  localImage,
  tagImage,
  removeImage,
  inspectImage,
  imageHistory,
  saveImages,
  type LocalOptions,
  type PlatformOptions,
  type InspectedImage,
} from './verbs/images.js';
export { login, logout, type LoginOptions } from './verbs/login.js';
export { usage, pruneState, type PruneStateResult, type CacheMountUsage } from './verbs/maintenance.js';
export type { ReclaimResult } from './state/reclaim-root.js';
export type { CommonOptions, RegistryOptions } from './verbs/options.js';
export type { Usage, PruneResult } from './cache/gc.js';
export type { ImageRecord } from './images/image-index.js';
export type { StoredImage } from './export/stored-image.js';
export type { RegistryHostsConfig } from './registry/hosts.js';
export type { Credentials } from './registry/credentials.js';
export type { ProgressEvent, ProgressSink, StepEvent } from './progress/events.js';
export type { Platform } from './image/platform.js';
export type { HistoryEntry, ImageConfig } from './image/oci-types.js';
export type { Digest } from './digest/digest.js';
export type { BuildPlan } from './plan/types.js';

// The types of option values (`tsbuild/options` parses them from the command line's syntax).
export type { OutputSpec, ImageOutputOptions } from './export/output-spec.js';
export type { OutputResult } from './export/write-outputs.js';
export type { SshSpec } from './builder/ssh-agents.js';
export type { CacheSpec, CacheMode } from './cache/cache-spec.js';
export type { Entitlement } from './builder/entitlements.js';
export type { NetworkMode } from './network/network.js';
export type { HostEntry } from './runtime/executor.js';
export type { Ulimit } from './runtime/oci-spec.js';

// Errors.
export {
  TsbuildError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  PermissionDeniedError,
  FailedPreconditionError,
  IntegrityError,
  UnavailableError,
  CancelledError,
  UnsupportedError,
  InternalError,
  hasCode,
  isNotFound,
  isInvalidArgument,
  isCancelled,
  type ErrorCode,
  type FailedStep,
} from './errors.js';
export { DockerfileError, type ErrorLocation, type SourcePosition, type SourceRange } from './dockerfile/errors.js';
export { ExecError } from './runtime/exec-error.js';
export { RegistryError } from './registry/registry-error.js';
export { DigestMismatchError } from './digest/hashing.js';
export { CheckConfigError } from './lint/lint.js';
