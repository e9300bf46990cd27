/**
 * The checks that read only how the Dockerfile is written, before any variable is expanded:
 * empty continuation lines, stage name and `AS` casing, MAINTAINER, duplicate and reserved stage
 * names, and instruction casing against the file's majority. They run in BuildKit's order
 * (parser warnings, then instruction by instruction, then the stage-name and casing passes).
 */
import type { Dockerfile } from '../dockerfile/parse.js';
import type { Linter, LintLocation } from './linter.js';
import {
  ConsistentInstructionCasing,
  DuplicateStageName,
  FromAsCasing,
  MaintainerDeprecated,
  NoEmptyContinuation,
  ReservedStageName,
  StageNameCasing,
} from './rules.js';

/** The lines an instruction spans. */
export const locationOf = (ins: { range: { start: { line: number }; end: { line: number } } }): LintLocation => ({
  start: ins.range.start.line,
  end: ins.range.end.line,
});

const RESERVED_STAGE_NAMES = new Set(['context', 'scratch']);

const isLower = (s: string): boolean => s === s.toLowerCase();
const isUpper = (s: string): boolean => s === s.toUpperCase();

/** Runs the parse-level checks on `df`. */
export function checkWriting(df: Dockerfile, linter: Linter): void {
  for (const warning of df.warnings) {
    linter.report(NoEmptyContinuation, { start: warning.endLine, end: warning.endLine }, NoEmptyContinuation.message());
  }
  for (const stage of df.stages) {
    const from = stage.from;
    if (from.alias) {
      if (!isLower(from.alias.name)) linter.report(StageNameCasing, locationOf(from), StageNameCasing.message(from.alias.name));
      // A FROM in mixed case is ConsistentInstructionCasing's finding; `AS` is compared only with a consistent one.
      const as = from.alias.keyword;
      if ((isLower(from.keyword) && !isLower(as)) || (!isLower(from.keyword) && isUpper(from.keyword) && !isUpper(as))) {
        linter.report(FromAsCasing, locationOf(from), FromAsCasing.message(from.keyword, as));
      }
    }
    for (const ins of stage.instructions) {
      if (ins.kind === 'MAINTAINER') linter.report(MaintainerDeprecated, locationOf(ins), MaintainerDeprecated.message());
    }
  }
  const seen = new Set<string>();
  for (const stage of df.stages) {
    if (stage.name === undefined) continue;
    const where = locationOf(stage.from);
    if (RESERVED_STAGE_NAMES.has(stage.name)) linter.report(ReservedStageName, where, ReservedStageName.message(stage.name));
    if (seen.has(stage.name)) linter.report(DuplicateStageName, where, DuplicateStageName.message(stage.name));
    seen.add(stage.name);
  }
  checkCasing(df, linter);
}

/** Every keyword in a stage (global ARGs are not counted) is compared with the majority casing. */
function checkCasing(df: Dockerfile, linter: Linter): void {
  const written = df.stages.flatMap((stage) => [stage.from, ...stage.instructions]);
  let lower = 0;
  let upper = 0;
  for (const { keyword } of written) {
    if (isLower(keyword)) lower++;
    else if (isUpper(keyword)) upper++;
  }
  // A tie counts as uppercase, as in BuildKit.
  const majorityLower = lower > upper;
  for (const ins of written) {
    if (majorityLower && !isLower(ins.keyword)) {
      linter.report(ConsistentInstructionCasing, locationOf(ins), ConsistentInstructionCasing.message(ins.keyword, 'lowercase'));
    } else if (!majorityLower && !isUpper(ins.keyword)) {
      linter.report(ConsistentInstructionCasing, locationOf(ins), ConsistentInstructionCasing.message(ins.keyword, 'uppercase'));
    }
  }
}
