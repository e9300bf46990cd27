/**
 * `--call=targets`: the stages a Dockerfile defines, with the description a `# name text` comment
 * above each FROM gives, and which one builds by default (the last), printed as BuildKit prints
 * them. Only the text is read: nothing is expanded or resolved.
 */
import type { Dockerfile } from '../dockerfile/parse.js';
import { formatTable } from './tabwriter.js';

/** One stage as a build target. */
export interface BuildTarget {
  /** The stage name, lowercased; empty for an unnamed stage. */
  name: string;
  description: string;
  /** The last stage: what a build without `--target` builds. */
  default: boolean;
  /** The FROM image as written. */
  base: string;
  platform?: string;
  line: number;
}

/** The stages of `df` as targets, in order. */
export function listTargets(df: Dockerfile): BuildTarget[] {
  return df.stages.map((stage, i) => ({
    name: stage.name ?? '',
    description: stage.from.description ?? '',
    default: i === df.stages.length - 1,
    base: stage.from.image,
    ...(stage.from.platform === undefined ? {} : { platform: stage.from.platform }),
    line: stage.from.range.start.line,
  }));
}

/** BuildKit's `TARGET DESCRIPTION` table. */
export function formatTargets(targets: readonly BuildTarget[]): string {
  const rows = targets.map((t) => {
    const name = t.default ? (t.name === '' ? '(default)' : `${t.name} (default)`) : t.name;
    return [name, t.description];
  });
  return formatTable([['TARGET', 'DESCRIPTION'], ...rows], 1);
}
