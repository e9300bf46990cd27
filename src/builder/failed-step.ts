/**
 * Names the step a build failed in, as BuildKit does: a failed RUN or a missing COPY source carries
 * the step's progress name, its stage, the Dockerfile lines and the excerpt around them, and a RUN's
 * last lines of output (`FailedStep` in errors.ts). The CLI prints them in BuildKit's shape; a
 * library caller reads `err.step`.
 */
import { formatExcerpt } from '../dockerfile/excerpt.js';
import { TsbuildError } from '../errors.js';
import type { PlannedStage, PlanStep } from '../plan/types.js';
import { ExecError } from '../runtime/exec-error.js';

/** The Dockerfile as BuildKit prints its name, and its text. */
export interface DockerfileText {
  file: string;
  source: string;
}

/** Lines of a failed RUN's output shown with the error. */
const OUTPUT_LINES = 10;

/** `err` with the step it came from; an error that names one already, or is not ours, is left. */
export function withFailedStep(err: unknown, step: PlanStep, stage: PlannedStage, dockerfile: DockerfileText): unknown {
  if (!(err instanceof TsbuildError) || err.step || err.code === 'internal') return err;
  const endLine = step.endLine ?? step.line;
  const output = err instanceof ExecError ? err.tail.trimEnd().split('\n').slice(-OUTPUT_LINES) : [];
  err.step = {
    name: step.name,
    stage: stage.name,
    file: dockerfile.file,
    line: step.line,
    endLine,
    // An ONBUILD trigger's step points at the FROM that ran it.
    excerpt: formatExcerpt(dockerfile.file, dockerfile.source, { start: step.line, end: endLine }),
    output: output.length === 1 && output[0] === '' ? [] : output,
  };
  return err;
}
