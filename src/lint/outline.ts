/**
 * `--call=outline`: what a target can be given — the build args it uses (with their values and
 * `# NAME text` descriptions), the secrets and ssh sockets its RUNs mount — gathered as BuildKit's
 * `Dockerfile2Outline` gathers them from the target, the stage it is built on and the stages it
 * copies from, and printed as BuildKit prints them.
 *
 * A build arg counts when the target's stages declare it or a FROM line reads it (global ARGs then
 * also count for the ARGs their defaults read); a redeclared global ARG shows the global one.
 */
import type { Dockerfile } from '../dockerfile/parse.js';
import { referencedSources } from '../plan/stage-graph.js';
import type { GlobalScope } from './from-checks.js';
import type { LintResult } from './lint.js';
import type { MountedId, StageRecord } from './stage-walk.js';
import { formatTable } from './tabwriter.js';

/** A build arg of the outline. */
export interface OutlineArg {
  name: string;
  value: string;
  description: string;
  line: number;
}

/** A secret or ssh socket of the outline. */
export interface OutlineMount {
  id: string;
  required: boolean;
  line: number;
}

export interface Outline {
  /** The target stage's name (empty when unnamed) and description. */
  name: string;
  description: string;
  args: OutlineArg[];
  secrets: OutlineMount[];
  ssh: OutlineMount[];
}

interface ArgInfo {
  key: string;
  value: string | undefined;
  description?: string;
  line: number;
  deps: readonly string[];
}

/** The outline of stage `target`, from a check that walked the stages it needs. */
export function buildOutline(df: Dockerfile, result: LintResult, target: number): Outline {
  const scope = result.scope as GlobalScope;
  const heads = result.heads;
  const stageOf = (name: string, before = df.stages.length): number | undefined => {
    const named = df.stages.find((s) => s.index < before && s.name !== undefined && s.name === name.toLowerCase());
    if (named) return named.index;
    return /^\d+$/.test(name) && Number(name) < before ? Number(name) : undefined;
  };
  const baseOf = (i: number): number | undefined => stageOf(heads[i]?.base ?? '', i);
  /** FROM-line args of a stage and of the stages it is built on (BuildKit copies them down). */
  const fromUsed = (i: number): string[] => {
    const base = baseOf(i);
    return [...(base === undefined ? [] : fromUsed(base)), ...(heads[i]?.used ?? [])];
  };
  const depsOf = (i: number): number[] => {
    const deps = new Set<number>();
    for (const ins of df.stages[i]?.instructions ?? []) {
      for (const ref of referencedSources(ins)) {
        const dep = stageOf(ref);
        if (dep !== undefined) deps.add(dep);
      }
    }
    return [...deps];
  };

  const args: OutlineArg[] = [];
  const secrets: OutlineMount[] = [];
  const ssh: OutlineMount[] = [];
  const seen = { args: new Set<string>(), secrets: new Set<string>(), ssh: new Set<string>(), stages: new Set<number>() };
  const visit = (i: number): void => {
    if (seen.stages.has(i)) return;
    seen.stages.add(i);
    const record: StageRecord = result.stages.get(i) ?? { args: [], secrets: [], ssh: [] };
    const known = new Map<string, ArgInfo>([...scope.args].map(([k, a]) => [k, a]));
    for (const arg of record.args) if (!arg.inheritsGlobal) known.set(arg.key, { ...arg, deps: [] });
    const used = markUsed([...fromUsed(i), ...record.args.map((a) => a.key)], known);
    for (const key of used) {
      const info = known.get(key);
      if (!info || seen.args.has(key)) continue;
      seen.args.add(key);
      args.push({ name: info.key, value: info.value ?? '', description: info.description ?? '', line: info.line });
    }
    collectMounts(record.secrets, seen.secrets, secrets);
    collectMounts(record.ssh, seen.ssh, ssh);
    const base = baseOf(i);
    if (base !== undefined) visit(base);
    for (const dep of depsOf(i)) visit(dep);
  };
  visit(target);
  const byLine = <T extends { line: number }>(list: T[]): T[] => list.sort((a, b) => a.line - b.line);
  const stage = df.stages[target];
  return {
    name: stage?.name ?? '',
    description: stage?.from.description ?? '',
    args: byLine(args),
    secrets: byLine(secrets),
    ssh: byLine(ssh),
  };
}

/** `used` plus, transitively, the args their defaults read. */
function markUsed(used: readonly string[], known: ReadonlyMap<string, ArgInfo>): string[] {
  const out: string[] = [];
  const add = (key: string): void => {
    if (out.includes(key)) return;
    out.push(key);
    for (const dep of known.get(key)?.deps ?? []) add(dep);
  };
  used.forEach(add);
  return out;
}

function collectMounts(found: readonly MountedId[], seen: Set<string>, into: OutlineMount[]): void {
  for (const mount of found) {
    if (seen.has(mount.id)) continue;
    seen.add(mount.id);
    into.push({ id: mount.id, required: mount.required, line: mount.line });
  }
}

/** BuildKit's outline text: the target, then the build args, secrets and ssh tables. */
export function formatOutline(outline: Outline): string {
  let out = '';
  if (outline.name !== '' || outline.description !== '') {
    const rows = [['TARGET:', outline.name === '' ? '(default)' : outline.name]];
    if (outline.description !== '') rows.push(['DESCRIPTION:', outline.description]);
    out += `${formatTable(rows, 1)}\n`;
  }
  if (outline.args.length > 0) {
    out += `${formatTable([['BUILD ARG', 'VALUE', 'DESCRIPTION'], ...outline.args.map((a) => [a.name, a.value, a.description])], 3)}\n`;
  }
  const required = (m: OutlineMount): string[] => [m.id, m.required ? 'true' : ''];
  if (outline.secrets.length > 0) out += `${formatTable([['SECRET', 'REQUIRED'], ...outline.secrets.map(required)], 3)}\n`;
  if (outline.ssh.length > 0) out += `${formatTable([['SSH', 'REQUIRED'], ...outline.ssh.map(required)], 3)}\n`;
  return out;
}
