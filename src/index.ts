/**
 * tsbuild's public API. Import from `tsbuild`; everything else is internal and may change.
 */
export { loadPlan, type PlanRequest } from './build.js';
export { parseDockerfile, type Dockerfile, type Stage } from './dockerfile/parse.js';
export type { Instruction, StageInstruction } from './dockerfile/instructions.js';
export { DockerfileError, type ErrorLocation, type SourcePosition, type SourceRange } from './dockerfile/errors.js';
export { expandWord, expandWords, ExpansionError, type Lookup } from './dockerfile/expand.js';
export { planBuild, imageBases, type PlanOptions } from './plan/plan.js';
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
  hasCode,
  type ErrorCode,
} from './errors.js';
export { pull, resolveRemoteImage, clientFor, type PullOptions, type PullResult } from './pull.js';
export { login, logout, loginHost, type LoginOptions } from './login.js';
export { stateRoot, registriesConfigPath, hostPlatform } from './settings.js';
export { ImageIndex, type ImageRecord } from './images/image-index.js';
export { LocalContentStore } from './content/local-store.js';
export type { ContentStore, BlobInfo } from './content/store.js';
export { parseDigest, digestOf, type Digest } from './digest/digest.js';
export { DigestMismatchError } from './digest/hashing.js';
export { parseReference, formatReference, familiarName, type Reference } from './registry/reference.js';
export { RegistryClient } from './registry/client.js';
export { RegistryError } from './registry/registry-error.js';
export { RegistryHosts, type RegistryHostsConfig } from './registry/hosts.js';
export { DockerCredentials, type Credentials } from './registry/credentials.js';
export { resolveImage, type ResolvedImage } from './registry/remote-image.js';
export type { ProgressEvent, ProgressSink } from './progress/events.js';
export type { Descriptor, Manifest, Index } from './image/oci-types.js';
export { build, type BuildRequest, type BuildResult } from './builder/run-build.js';
export type { StepEvent } from './progress/events.js';
export { usage, pruneState, reclaimRoot, reclaimedCount, describeReclaimed, type ReclaimResult, type PruneStateResult } from './maintenance.js';
export { parseCacheSpec, type CacheSpec, type CacheMode } from './cache/cache-spec.js';
export { parseOutput, buildOutputs, parseAnnotation, type OutputSpec, type ImageOutputOptions } from './export/output-spec.js';
export { writeOutputs, type OutputResult, type OutputContext } from './export/write-outputs.js';
export { readStoredImage, imageVariant, type StoredImage } from './export/stored-image.js';
export { push, pushImage, type PushOptions, type PushResult } from './push.js';
export { load, type LoadOptions, type LoadedImage } from './load.js';
export { findImage, localImage, tagImage, removeImage, inspectImage, imageHistory, saveImages, type LocalOptions } from './local-images.js';
export { checkDockerfile, outlineDockerfile, dockerfileTargets, lintViolation, type CheckRequest, type CheckResult } from './check.js';
export { lintDockerfile, prepareLint, checkConfig, CheckConfigError, type LintOptions, type LintResult, type PreparedLint } from './lint/lint.js';
export { parseCheckOptions, type LintConfig } from './lint/config.js';
export { ALL_RULES, type LintRule } from './lint/rules.js';
export type { LintWarning, LintLocation } from './lint/linter.js';
export { formatCheckReport, formatBuildWarnings, formatExcerpt } from './lint/format.js';
export { buildOutline, formatOutline, type Outline, type OutlineArg, type OutlineMount } from './lint/outline.js';
export { listTargets, formatTargets, type BuildTarget } from './lint/targets.js';
