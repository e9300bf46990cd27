/**
 * Human-readable text of a `BuildPlan` (`tsbuild build --print-plan`): stages in order, each step on
 * a line with the detail that matters for it (argv, mounts, sources and destination), then the final
 * config of the target. `--print-plan=json` prints the plan object itself instead.
 */
import type { ContainerConfig } from '../image/oci-types.js';
import type { BuildPlan, ExecStep, FileStep, Mount, PlannedStage, PlanStep, SourceLocation, StageBase } from './types.js';

/** The plan as text, ending with a newline. */
export function formatPlan(plan: BuildPlan): string {
  const out: string[] = [
    `Dockerfile: ${plan.dockerfile}`,
    `Target: ${plan.target.name} (stage ${plan.target.index})`,
    `Platform: ${plan.platforms.target} (building on ${plan.platforms.build})`,
  ];
  for (const stage of plan.stages) out.push('', ...formatStage(stage));
  const target = plan.stages.find((s) => s.index === plan.target.index);
  if (target) {
    const author = target.author === undefined ? [] : [`Author: ${JSON.stringify(target.author)}`];
    out.push('', 'Image config:', ...[...author, ...formatConfig(target.config)].map((l) => `  ${l}`));
  }
  if (plan.warnings.length > 0) out.push('', 'Warnings:', ...plan.warnings.map((w) => `  ${w}`));
  return `${out.join('\n')}\n`;
}

function formatStage(stage: PlannedStage): string[] {
  const needs = stage.needs.length > 0 ? `, needs stage ${stage.needs.join(', ')}` : '';
  const unknown = stage.base.kind === 'image' && !stage.baseResolved ? ' (base config not resolved)' : '';
  const lines = [`stage ${stage.index} "${stage.name}" from ${formatOrigin(stage.base)} [${stage.platform}] (line ${stage.line})${needs}${unknown}`];
  for (const step of stage.steps) {
    lines.push(`  ${step.onbuild ? '(onbuild) ' : ''}${step.name}`);
    lines.push(...stepDetail(step).map((d) => `      ${d}`));
  }
  return lines;
}

/** Where a stage or a copy starts from: scratch, the context, an image or a stage. */
function formatOrigin(origin: StageBase | SourceLocation): string {
  switch (origin.kind) {
    case 'scratch':
    case 'context':
      return origin.kind;
    case 'image':
      return `image ${origin.ref}`;
    case 'stage':
      return `stage ${origin.index} "${origin.name}"`;
  }
}

function stepDetail(step: PlanStep): string[] {
  switch (step.kind) {
    case 'source':
      return [`pull ${step.ref}${step.digest ? `@${step.digest}` : ''} for ${step.platform}`];
    case 'exec':
      return execDetail(step);
    case 'file':
      return fileDetail(step);
    case 'config': {
      // The history text is the instruction with its variables expanded: show it when it adds that.
      if (!step.history?.created_by) return [];
      const effect = step.history.created_by;
      const oneLine = (text: string): string => text.split('\n')[0]?.replace(/\s+/g, ' ') ?? '';
      return oneLine(effect) === oneLine(step.name) ? [] : [`= ${oneLine(effect)}`];
    }
  }
}

function execDetail(step: ExecStep): string[] {
  const lines = [`exec ${JSON.stringify(step.args)}`, `cwd ${step.cwd}, user ${step.user || 'root'}, network ${step.network}`];
  for (const mount of step.mounts) lines.push(`mount ${formatMount(mount)}`);
  for (const file of step.files) lines.push(`script ${file.path} (mode ${file.mode.toString(8)})`);
  return lines;
}

function fileDetail(step: FileStep): string[] {
  if (step.action === 'mkdir') return [`mkdir -p ${step.dest}${step.chown ? ` (owner ${step.chown})` : ''}`];
  const sources = [...step.sources, ...step.inline.map((i) => `<<${i.path}`)];
  const options = [
    step.chown && `chown ${step.chown}`,
    step.chmod && `chmod ${step.chmod}`,
    step.link && 'link',
    step.parents && 'parents',
    step.exclude.length > 0 && `exclude ${step.exclude.join(' ')}`,
    step.checksum && `checksum ${step.checksum}`,
  ].filter(Boolean);
  const suffix = options.length > 0 ? ` (${options.join(', ')})` : '';
  const origin = step.sources.length === 0 ? 'here-documents' : `from ${formatOrigin(step.from)}`;
  return [`${step.action} ${origin}: ${sources.join(' ')} -> ${step.dest}${suffix}`];
}

function formatMount(m: Mount): string {
  switch (m.type) {
    case 'bind':
      return `type=bind from ${formatOrigin(m.from)} source=${m.source} target=${m.target}${m.readonly ? ' ro' : ' rw'}`;
    case 'cache':
      return `type=cache target=${m.target} id=${m.id} sharing=${m.sharing} mode=${m.mode.toString(8)} uid=${m.uid} gid=${m.gid}`;
    case 'tmpfs':
      return `type=tmpfs target=${m.target}${m.size === undefined ? '' : ` size=${m.size}`}`;
    case 'secret':
      return `type=secret id=${m.id}${m.target ? ` target=${m.target}` : ''}${m.env ? ` env=${m.env}` : ''}${m.required ? ' required' : ''}`;
    case 'ssh':
      return `type=ssh id=${m.id} target=${m.target}${m.required ? ' required' : ''}`;
  }
}

function formatConfig(config: ContainerConfig): string[] {
  return Object.entries(config)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
}
