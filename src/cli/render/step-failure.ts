/**
 * A failed build step, printed as buildx prints it: the step's name and last output between
 * rules, the Dockerfile excerpt with the step's lines marked, then
 * `ERROR: failed to build: failed to solve: <cause>`.
 */
import type { FailedStep } from '../../index.js';

const RULE = '------';

/** The text on stderr for an error raised by `step`; the hint, if any, on the last line. */
export function formatStepFailure(step: FailedStep, message: string, hint: string | undefined): string {
  const output = step.output.map((line) => `${line}\n`).join('');
  return `${RULE}\n > ${step.name}:\n${output}${RULE}\n${step.excerpt}ERROR: failed to build: failed to solve: ${message}\n${hint ? `${hint}\n` : ''}`;
}
