/**
 * tsbuild's public API: the verbs, their options and results (and the helpers that make and print
 * them), and the errors they throw. The building blocks underneath are subpath exports:
 * `tsbuild/dockerfile`, `tsbuild/plan`, `tsbuild/lint`, `tsbuild/registry` and `tsbuild/storage`.
 */
export { build, type BuildRequest, type BuildResult } from './verbs/build.js';
export { loadPlan, type PlanRequest } from './verbs/plan.js';
export { checkDockerfile, outlineDockerfile, dockerfileTargets, lintViolation, type CheckRequest, type CheckResult } from './verbs/check.js';
export { pull, pullAllPlatforms, resolveRemoteImage, type PullAllResult, type PullOptions, type PullResult } from './verbs/pull.js';
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
export { login, logout, loginHost, type LoginOptions } from './verbs/login.js';
export { usage, pruneState, type PruneStateResult } from './verbs/maintenance.js';
export type { ReclaimResult } from './state/reclaim-root.js';
export type { CommonOptions, RegistryOptions } from './verbs/options.js';
export type { Usage, PruneResult } from './cache/gc.js';
export type { ImageRecord } from './images/image-index.js';
export type { StoredImage } from './export/stored-image.js';
export type { RegistryHostsConfig } from './registry/hosts.js';
export type { Credentials } from './registry/credentials.js';
export type { ProgressEvent, ProgressSink, StepEvent } from './progress/events.js';
export type { Platform } from './image/platform.js';
export type { Digest } from './digest/digest.js';
export type { BuildPlan } from './plan/types.js';

// Making options, and printing results.
export {
  parseOutput,
  buildOutputs,
  parseAnnotation,
  checkStdoutOutputs,
  writesToStdout,
  type OutputSpec,
  type ImageOutputOptions,
} from './export/output-spec.js';
export { parseSsh, type SshSpec } from './builder/ssh-agents.js';
export { openContext, contextKind, type OpenedContext, type ContextInputOptions, type ContextKind } from './builder/context-input.js';
export type { OutputResult } from './export/write-outputs.js';
export { parseCacheSpec, type CacheSpec, type CacheMode } from './cache/cache-spec.js';
export { parseNetworkMode, parseEntitlements, parseHostEntry, parseByteSize, parseUlimit } from './builder/sandbox-options.js';
export type { Entitlement } from './builder/entitlements.js';
export type { NetworkMode } from './network/network.js';
export type { HostEntry } from './runtime/executor.js';
export type { Ulimit } from './runtime/oci-spec.js';
export { formatPlan } from './plan/format.js';
export { formatCheckReport, formatBuildWarnings } from './lint/format.js';
export { formatOutline } from './lint/outline.js';
export { formatTargets } from './lint/targets.js';
export { stateRootPath } from './state/state-root.js';
export { registriesConfigPath } from './registry/configured-client.js';
export { needsUserNamespace, runInUserNamespace, type RelaunchOptions } from './rootless/relaunch.js';

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
