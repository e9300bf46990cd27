/** Shared helpers for planner tests: parse + plan with a fixed build platform. */
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { planBuild, type PlanOptions } from '../../src/plan/plan.js';
import type { BuildPlan, ExecStep, FileStep, PlannedStage, PlanStep } from '../../src/plan/types.js';

export const AMD64 = { os: 'linux', architecture: 'amd64' } as const;

/** Plans `text` as a Dockerfile on linux/amd64 with `options`. */
export function plan(text: string, options: Partial<PlanOptions> = {}): BuildPlan {
  return planBuild(parseDockerfile(text), { buildPlatform: AMD64, ...options });
}

/** The stage of `p` with index `index` (default: the target). */
export function stage(p: BuildPlan, index = p.target.index): PlannedStage {
  const found = p.stages.find((s) => s.index === index);
  if (!found) throw new Error(`stage ${index} is not in the plan`);
  return found;
}

/** The steps of one kind in the target stage. */
export function steps<K extends PlanStep['kind']>(p: BuildPlan, kind: K): Array<Extract<PlanStep, { kind: K }>> {
  return stage(p).steps.filter((s): s is Extract<PlanStep, { kind: K }> => s.kind === kind);
}

/** The only RUN step of the target stage. */
export function onlyRun(p: BuildPlan): ExecStep {
  const runs = steps(p, 'exec');
  if (runs.length !== 1) throw new Error(`expected one RUN, found ${runs.length}`);
  return runs[0] as ExecStep;
}

/** The file steps of the target stage. */
export function fileSteps(p: BuildPlan): FileStep[] {
  return steps(p, 'file');
}

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
