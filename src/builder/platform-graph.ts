/**
 * The stages of several plans (one per target platform) as one graph for the solver, so that one
 * solve builds every platform and the step resolver can run a step shared by several of them
 * once. A vertex is `<plan>/<stage>`; a stage asks for the stages it reads by their index in its
 * own plan, which maps to its plan's vertex. With several platforms, each step's progress name
 * starts with its platform (`[linux/arm64 build 2/3] RUN …`) and its id carries it, as BuildKit shows them.
 */
import { InternalError } from '../errors.js';
import { parsePlatform, formatPlatform, type Platform } from '../image/platform.js';
import type { BuildPlan, PlannedStage } from '../plan/types.js';
import type { Vertex, VertexRun } from '../solve/solver.js';

export class PlatformGraph {
  private readonly stages: ReadonlyMap<string, { plan: number; stage: PlannedStage }>;

  constructor(private readonly plans: readonly BuildPlan[]) {
    const several = plans.length > 1;
    const stages = new Map<string, { plan: number; stage: PlannedStage }>();
    plans.forEach((plan, i) => {
      for (const stage of plan.stages) stages.set(vertexId(i, stage.index), { plan: i, stage: several ? labelled(stage, plan) : stage });
    });
    this.stages = stages;
  }

  /** Every stage of every plan, with its dependencies. */
  vertices(): Vertex[] {
    return [...this.stages].map(([id, { plan, stage }]) => ({ id, deps: stage.needs.map((n) => vertexId(plan, n)) }));
  }

  /** The stage of vertex `id`, and how it awaits the stages of its plan it reads (by their index). */
  vertex<R>(id: string, run: VertexRun<R>): { stage: PlannedStage; need: (index: string) => Promise<R> } {
    const found = this.stages.get(id);
    if (!found) throw new InternalError(`no stage for vertex ${id}`);
    return { stage: found.stage, need: (index) => run.need(vertexId(found.plan, Number(index))) };
  }

  /** Each plan's target stage result, in the order of the plans. */
  targets<R>(results: ReadonlyMap<string, R>): R[] {
    return this.plans.map((plan, i) => {
      const result = results.get(vertexId(i, plan.target.index));
      if (result === undefined) throw new InternalError(`the target of plan ${i} did not run`);
      return result;
    });
  }
}

/** The distinct platforms whose programs the plans' RUN steps execute. */
export function platformsRunning(plans: readonly BuildPlan[]): Platform[] {
  const platforms = new Map<string, Platform>();
  for (const plan of plans) {
    for (const stage of plan.stages) if (stage.steps.some((s) => s.kind === 'exec')) platforms.set(stage.platform, parsePlatform(stage.platform));
  }
  return [...platforms.values()];
}

function vertexId(plan: number, stage: number): string {
  return `${plan}/${stage}`;
}

/** The stage with its steps named after the plan's target platform. */
function labelled(stage: PlannedStage, plan: BuildPlan): PlannedStage {
  const platform = formatPlatform(parsePlatform(plan.platforms.target));
  // BuildKit's `[linux/arm64 build 2/3] RUN …`: the platform joins the stage's bracket.
  const name = (text: string): string => (text.startsWith('[') ? `[${platform} ${text.slice(1)}` : `[${platform}] ${text}`);
  return { ...stage, steps: stage.steps.map((step) => ({ ...step, id: `${platform} ${step.id}`, name: name(step.name) })) };
}
