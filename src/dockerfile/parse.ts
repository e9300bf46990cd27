/**
 * `parseDockerfile`: text → a `Dockerfile` of stages and global ARGs. The only entry point the rest
 * of tsbuild uses; everything below it (line parser, node shape, instruction checks) stays internal
 * to `dockerfile/`.
 */
import type { Directives } from './directives.js';
import { DockerfileError, locate, type SourceRange } from './errors.js';
import type { ArgInstruction, FromInstruction, StageInstruction } from './instructions.js';
import type { Fail, Node } from './node.js';
import { parseNodes, type ParseWarning } from './parse-nodes.js';
import { toInstruction } from './to-instruction.js';

/** One build stage: a FROM and the instructions up to the next FROM. */
export interface Stage {
  /** 0-based position among the stages (what `COPY --from=1` refers to). */
  index: number;
  /** The lowercased name from `FROM … AS name`, if any. */
  name?: string;
  from: FromInstruction;
  instructions: StageInstruction[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** The name used in error messages (`Dockerfile`, `build/Dockerfile.web`). */
  file: string;
  directives: Directives;
  /** ARGs before the first FROM: visible to FROM lines and to stages that redeclare them. */
  globalArgs: ArgInstruction[];
  stages: Stage[];
  /** The physical lines, for error excerpts. */
  lines: string[];
  warnings: ParseWarning[];
}

/** Parses Dockerfile text. Throws a `DockerfileError` with a location for any syntax error. */
export function parseDockerfile(text: string, options: { file?: string } = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  const doc = parseNodes(text, file);
  const failAt =
    (range: SourceRange): Fail =>
    (message, needle) => {
      throw new DockerfileError(message, locate(file, doc.lines, range, needle));
    };
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const node of doc.nodes) {
    const fail = failAt(node.range);
    const instruction = toInstruction(node, fail);
    if (instruction.kind === 'FROM') {
      stages.push({
        index: stages.length,
        ...(instruction.stageName === undefined ? {} : { name: instruction.stageName }),
        from: instruction,
        instructions: [],
      });
      continue;
    }
    const current = stages[stages.length - 1];
    if (current) current.instructions.push(instruction);
    else if (instruction.kind === 'ARG') globalArgs.push(instruction);
    else noStage(node, fail);
  }
  if (stages.length === 0) {
    const last = doc.nodes[doc.nodes.length - 1];
    throw new DockerfileError('dockerfile contains no stages to build', last ? locate(file, doc.lines, last.range) : undefined, {
      hint: 'add a FROM instruction: ARGs alone build nothing',
    });
  }
  return { file, directives: doc.directives, globalArgs, stages, lines: doc.lines, warnings: doc.warnings };
}

/**
 * Parses ONBUILD trigger expressions stored in a base image's config (`RUN echo hi`, …) into
 * instructions, validated as if written in a Dockerfile.
 */
export function parseTriggers(expressions: readonly string[], file = 'Dockerfile'): StageInstruction[] {
  const parsed = parseDockerfile(`FROM scratch\n${expressions.join('\n')}\n`, { file: `${file} (ONBUILD triggers of the base image)` });
  return parsed.stages[0]?.instructions ?? [];
}

function noStage(node: Node, fail: Fail): never {
  return fail(`no build stage in current context: ${node.keywordText.toUpperCase()} must come after a FROM instruction`, node.keywordText);
}
