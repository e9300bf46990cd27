/**
 * The stage DAG: which stages each stage needs (its base stage, `COPY --from`, `RUN --mount from=`),
 * BuildKit's ordering rules and messages, and the set of stages a target needs. Stage names match
 * case-insensitively; a number is a 0-based stage index; anything else is an image (or the named
 * context of that name).
 */
import type { StageInstruction } from '../dockerfile/instructions.js';
import type { SourceLocation } from './types.js';
import { namedContextRef } from './named-contexts.js';

/** The name a stage is shown and referred to by: its own, or `stage-<index>`. */
export function stageDisplayName(stage: { index: number; name?: string }): string {
  return stage.name ?? `stage-${stage.index}`;
}

/** Reports a located error for `instruction`; `needle` is the text to point at. */
export type FailAt = (instruction: { range: StageInstruction['range'] }, message: string, needle?: string) => never;

/** Stage names and positions, for resolving references. */
export interface StageIndex {
  /** Lowercased stage name → index. */
  byName: ReadonlyMap<string, number>;
  count: number;
  displayNames: readonly string[];
  /** Named contexts, as the image references standing in for them (`named-contexts.ts`). */
  contexts?: Readonly<Record<string, string>>;
}

/**
 * Resolves a `--from` value seen in stage `current`: an earlier stage by name or index, or an
 * image. A reference to the current stage is a cycle; to a later stage, an ordering error.
 */
export function resolveFrom(value: string, current: number, stages: StageIndex, fail: (message: string) => never): SourceLocation {
  const byName = stages.byName.get(value.toLowerCase());
  const index = byName ?? (/^\d+$/.test(value) ? Number(value) : undefined);
  if (index === undefined || index >= stages.count) return { kind: 'image', ref: namedContextRef(stages.contexts, value) ?? value };
  const name = stages.displayNames[index] ?? String(index);
  if (index === current) fail(`circular dependency detected on stage: ${name}`);
  if (index > current) {
    fail(`cannot copy from stage "${value}", it needs to be defined before current stage "${stages.displayNames[current]}"`);
  }
  return { kind: 'stage', index, name };
}

/** The `--from` / `from=` values an instruction reads (not expanded: BuildKit forbids it). */
export function referencedSources(instruction: StageInstruction): string[] {
  if (instruction.kind === 'COPY' && instruction.from !== undefined) return [instruction.from];
  if (instruction.kind === 'RUN') {
    return instruction.mounts.flatMap((m) => m.options.filter((o) => o.key === 'from' && o.value !== undefined).map((o) => o.value ?? ''));
  }
  return [];
}

/** Stages reachable from `target` through `needs`, ascending. */
export function reachableStages(target: number, needs: ReadonlyArray<readonly number[]>): number[] {
  const seen = new Set<number>();
  const stack = [target];
  while (stack.length > 0) {
    const index = stack.pop() as number;
    if (seen.has(index)) continue;
    seen.add(index);
    for (const dep of needs[index] ?? []) stack.push(dep);
  }
  return [...seen].sort((a, b) => a - b);
}
