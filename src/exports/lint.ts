/** `tsbuild/lint`: BuildKit's Dockerfile checks, outline and targets, pure. */
export { lintDockerfile, prepareLint, checkConfig, CheckConfigError, type LintOptions, type LintResult, type PreparedLint } from '../lint/lint.js';
export { parseCheckOptions, type LintConfig } from '../lint/config.js';
export { ALL_RULES, type LintRule } from '../lint/rules.js';
export type { LintWarning, LintLocation } from '../lint/linter.js';
export { formatCheckReport, formatBuildWarnings, formatExcerpt } from '../lint/format.js';
export { buildOutline, formatOutline, type Outline, type OutlineArg, type OutlineMount } from '../lint/outline.js';
export { listTargets, formatTargets, type BuildTarget } from '../lint/targets.js';
