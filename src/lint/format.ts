/**
 * Findings as text, byte for byte as `docker buildx build --call=check` prints them (stdout), and
 * as the short list a build prints when it ends (stderr), each with its source excerpt
 * (`dockerfile/excerpt.ts`).
 */
import { formatExcerpt } from '../dockerfile/excerpt.js';
import type { LintWarning } from './linter.js';

export { formatExcerpt };

/** The report of `--call=check`: the count, then each finding with its rule, URL and excerpt. */
export function formatCheckReport(warnings: readonly LintWarning[], file: string, source: string, failed: boolean): string {
  let out = '';
  if (warnings.length > 0) out += `Check complete, ${warnings.length === 1 ? '1 warning has' : `${warnings.length} warnings have`} been found!\n`;
  for (const warning of warnings) {
    out += `\nWARNING: ${warning.rule}${warning.url ? ` - ${warning.url}` : ''}\n${warning.message}\n`;
    out += formatExcerpt(file, source, warning.location);
  }
  if (failed) return warnings.length > 0 ? `${out}\n` : out;
  return warnings.length === 0 ? 'Check complete, no warnings found.\n' : out;
}

/** One finding in a line, as a build lists it: `Rule: message (line N)`. */
export function shortWarning(warning: LintWarning): string {
  return `${warning.rule}: ${warning.message}${warning.location.start > 0 ? ` (line ${warning.location.start})` : ''}`;
}

/** What a build prints at its end; `expand` adds each finding's description, URL and excerpt. */
export function formatBuildWarnings(warnings: readonly LintWarning[], file: string, source: string, expand: boolean): string {
  if (warnings.length === 0) return '';
  const count = warnings.length === 1 ? '1 warning found' : `${warnings.length} warnings found`;
  let out = `\n ${count}${expand ? '' : ' (use --debug to expand)'}:\n`;
  for (const warning of warnings) {
    out += ` - ${shortWarning(warning)}\n`;
    if (!expand) continue;
    out += `${warning.description}\n`;
    if (warning.url) out += `More info: ${warning.url}\n`;
    out += `${formatExcerpt(file, source, warning.location)}\n`;
  }
  return out;
}
