/**
 * The library as the commands use it (the verbs, the helpers of cli-support.ts and the subpaths),
 * loaded when a command runs rather than when the CLI starts: `--version` and `--help` load none of
 * it. One module, so the bundle splits into the command line and the library and not into a chunk
 * per subpath: each file the ES module loader reads costs a resolution and a compile of its own.
 * The commands reach the verbs through `verbs.ts` and import the rest from here when they run.
 */
export { checkStdoutOutputs, lintViolation, openContext, writesToStdout } from '../cli-support.js';
export { needsUserNamespace, runInUserNamespace } from '../exports/rootless.js';
export {
  buildOutputs,
  parseByteSize,
  parseCacheSpec,
  parseEntitlements,
  parseHostEntry,
  parseNetworkMode,
  parseSsh,
  parseUlimit,
} from '../exports/options.js';
export { formatBuildWarnings, formatCheckReport, formatOutline, formatTargets } from '../exports/lint.js';
export { formatPlan } from '../exports/plan.js';
export { CheckConfigError } from '../exports/lint.js';
export {
  build,
  checkDockerfile,
  dockerfileTargets,
  imageHistory,
  inspectImage,
  listImages,
  load,
  loadPlan,
  login,
  logout,
  outlineDockerfile,
  pruneState,
  pull,
  pullAllPlatforms,
  push,
  removeImage,
  saveImages,
  tagImage,
  usage,
} from '../index.js';
