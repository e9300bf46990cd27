/**
 * What the `tsbuild` command needs beyond the public API (`index.ts` and the `exports/` subpaths),
 * kept out of it because only a command line has a use for it: the stdout checks of `-o` (one
 * output on stdout, never a terminal), making a stdin/git/URL context local once for both the
 * checks and the build, and `--call=check`'s exit status. Internal: no package export names it,
 * and `cli/` is its only importer (test/architecture.test.ts).
 */
export { checkStdoutOutputs, writesToStdout } from './export/output-spec.js';
export { openContext, type OpenedContext, type ContextInputOptions } from './builder/context-input.js';
export { lintViolation } from './verbs/check.js';
