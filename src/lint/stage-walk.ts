/**
 * Walks the stages the way BuildKit dispatches them, keeping what the checks need: each stage's
 * environment (base image ENV, PATH, ENV instructions, ARGs with values), the ARG names declared so
 * far, the SHELL, whether WORKDIR was set, and the last CMD/ENTRYPOINT/HEALTHCHECK. Checks:
 * UndefinedVar, JSONArgsRecommended, LegacyKeyValueFormat, WorkdirRelativePath,
 * SecretsUsedInArgOrEnv, MultipleInstructionsDisallowed, the EXPOSE checks and
 * InvalidBaseImagePlatform.
 *
 * Why not the planner's scope (`plan/scope.ts`): the planner answers "what value does this word
 * get", the checks ask "which names did it read, and were they declared": BuildKit's LLB
 * environment answers that, so this walk keeps one like it. The walk also records what
 * `--call=outline` reports (the ARGs each stage declares and the secrets and ssh sockets it mounts).
 */
import path from 'node:path/posix';
import { DockerfileError, locate } from '../dockerfile/errors.js';
import { ExpansionError, expandWords } from '../dockerfile/expand.js';
import type { StageInstruction } from '../dockerfile/instructions.js';
import { parseTriggers, type Dockerfile } from '../dockerfile/parse.js';
import { searchSuggestion } from '../dockerfile/suggest.js';
import type { ContainerConfig } from '../image/oci-types.js';
import { formatPlatform, type Platform } from '../image/platform.js';
import { EnvList } from './env-list.js';
import { expandBodyTracked, expandTracked, type TrackedExpansion } from './expansion.js';
import { checkExposedPorts } from './expose-checks.js';
import type { GlobalScope, StageHead } from './from-checks.js';
import type { Linter, LintLocation } from './linter.js';
import { locationOf } from './parse-checks.js';
import {
  InvalidBaseImagePlatform,
  JSONArgsRecommended,
  LegacyKeyValueFormat,
  MultipleInstructionsDisallowed,
  SecretsUsedInArgOrEnv,
  UndefinedVar,
  WorkdirRelativePath,
} from './rules.js';

/** What is known of a base image: its config and, when known, the platform it was built for. */
export interface BaseImage {
  config: ContainerConfig;
  platform?: Platform;
}

/** An ARG a stage declares, as `--call=outline` reports it. */
export interface DeclaredArg {
  key: string;
  value: string | undefined;
  description?: string;
  line: number;
  /** Redeclares a global ARG that has a value: the outline shows the global one. */
  inheritsGlobal: boolean;
}

/** A secret or ssh socket a RUN mounts. */
export interface MountedId {
  id: string;
  required: boolean;
  line: number;
}

/** What the walk records of one dispatched stage. */
export interface StageRecord {
  args: DeclaredArg[];
  secrets: MountedId[];
  ssh: MountedId[];
}

/** What the walk needs besides the Dockerfile. */
export interface WalkOptions {
  scope: GlobalScope;
  heads: readonly StageHead[];
  buildArgs: Readonly<Record<string, string>>;
  targetPlatform: Platform;
  /** True when no platform was asked for: an image of the build platform is then accepted too. */
  implicitPlatform: boolean;
  buildPlatform: Platform;
  baseImages: Readonly<Record<string, BaseImage>>;
  /** The stages to walk, ascending (all of them for `--call=check`, else those the target needs). */
  stages: readonly number[];
  /** The stages the target needs: only their base's ONBUILD triggers run (as in BuildKit). */
  reachable: ReadonlySet<number>;
}

/** BuildKit's default PATH for Linux containers, set when the base image has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Args BuildKit reads itself and never puts in the environment. */
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

const SECRET_NAME = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const ALLOWED_NAME = /(?:_|^)(?:public)(?:_|$)/i;

/** The state of a stage while it is walked. */
interface StageState {
  env: EnvList;
  /** ARG names declared in this stage and the stages it is built on. */
  declared: string[];
  shell: string[];
  workdirSet: boolean;
  platform: Platform;
  cmd?: LintLocation;
  entrypoint?: LintLocation;
  healthcheck?: LintLocation;
  record: StageRecord;
}

/** Walks `options.stages`; returns what each stage declared and mounted. */
export function walkStages(df: Dockerfile, linter: Linter, options: WalkOptions): Map<number, StageRecord> {
  const stageIndex = (name: string, before: number): number | undefined =>
    df.stages.find((s) => s.index < before && s.name !== undefined && s.name === name.toLowerCase())?.index;
  // Base images are resolved (and their platform checked) before any stage is walked.
  for (const i of options.stages) {
    const head = options.heads[i] as StageHead;
    if (stageIndex(head.base, i) !== undefined || head.base.toLowerCase() === 'scratch') continue;
    checkBasePlatform(df, i, head, options, linter);
  }
  const states = new Map<number, StageState>();
  const records = new Map<number, StageRecord>();
  for (const i of options.stages) {
    const stage = df.stages[i];
    const head = options.heads[i] as StageHead;
    if (!stage) continue;
    const parent = stageIndex(head.base, i);
    const walker = new StageWalker(df, linter, options, initialState(head, parent === undefined ? undefined : states.get(parent), options));
    const triggers = options.reachable.has(i) ? inheritedTriggers(df, head, parent, options) : [];
    for (const trigger of triggers) walker.dispatch({ ...trigger, range: stage.from.range });
    for (const ins of stage.instructions) walker.dispatch(ins);
    states.set(i, walker.state);
    records.set(i, walker.state.record);
  }
  return records;
}

function checkBasePlatform(df: Dockerfile, i: number, head: StageHead, options: WalkOptions, linter: Linter): void {
  const actual = options.baseImages[head.base]?.platform;
  if (!actual) return;
  let expected = head.platform ?? options.targetPlatform;
  const same = (p: Platform): boolean => p.os === actual.os && p.architecture === actual.architecture;
  // With no platform asked for, BuildKit takes an image built for the build platform as it is.
  if (!head.platform && options.implicitPlatform && same(options.buildPlatform)) expected = options.buildPlatform;
  if (same(expected)) return;
  const from = df.stages[i]?.from;
  if (from) {
    linter.report(
      InvalidBaseImagePlatform,
      locationOf(from),
      InvalidBaseImagePlatform.message(head.base, formatPlatform(expected), formatPlatform(actual)),
    );
  }
}

function initialState(head: StageHead, parent: StageState | undefined, options: WalkOptions): StageState {
  const record: StageRecord = { args: [], secrets: [], ssh: [] };
  if (parent) {
    return {
      env: parent.env.clone(),
      declared: [...parent.declared],
      shell: parent.shell,
      workdirSet: parent.workdirSet,
      platform: parent.platform,
      record,
    };
  }
  const config = head.base.toLowerCase() === 'scratch' ? {} : (options.baseImages[head.base]?.config ?? {});
  const env = EnvList.fromEntries(config.Env ?? []);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  return { env, declared: [], shell: config.Shell ?? [], workdirSet: false, platform: head.platform ?? options.targetPlatform, record };
}

/** ONBUILD triggers a stage runs first: the ONBUILD lines of its base stage, or its base image's. */
function inheritedTriggers(df: Dockerfile, head: StageHead, parent: number | undefined, options: WalkOptions): StageInstruction[] {
  if (parent !== undefined) {
    return (df.stages[parent]?.instructions ?? []).flatMap((ins) => (ins.kind === 'ONBUILD' ? [ins.trigger] : []));
  }
  const onbuild = head.base.toLowerCase() === 'scratch' ? [] : (options.baseImages[head.base]?.config.OnBuild ?? []);
  return onbuild.length > 0 ? parseTriggers(onbuild, df.file) : [];
}

/** Dispatches the instructions of one stage. */
class StageWalker {
  constructor(
    private readonly df: Dockerfile,
    private readonly linter: Linter,
    private readonly options: WalkOptions,
    readonly state: StageState,
  ) {}

  dispatch(ins: StageInstruction): void {
    const where = locationOf(ins);
    const word = (text: string): string => this.expand(ins, where, text);
    switch (ins.kind) {
      case 'ENV': {
        const pairs = ins.pairs.map((p) => ({ key: word(p.key), value: word(p.value), legacy: p.legacy === true }));
        for (const pair of pairs) {
          if (pair.legacy) this.linter.report(LegacyKeyValueFormat, where, LegacyKeyValueFormat.message(ins.keyword));
          this.secretCheck('ENV', pair.key, where);
          this.state.env.set(pair.key, pair.value);
        }
        return;
      }
      case 'LABEL': {
        for (const pair of ins.pairs) {
          word(pair.key);
          word(pair.value);
        }
        for (const pair of ins.pairs) if (pair.legacy) this.linter.report(LegacyKeyValueFormat, where, LegacyKeyValueFormat.message(ins.keyword));
        return;
      }
      case 'COPY':
      case 'ADD':
        if (ins.chown !== undefined) word(ins.chown);
        if (ins.chmod !== undefined) word(ins.chmod);
        if (ins.kind === 'ADD' && ins.checksum !== undefined) word(ins.checksum);
        ins.sources.forEach(word);
        word(ins.dest);
        for (const source of ins.inline) {
          if (source.expand) this.track(ins, where, source.content, expandBodyTracked(source.content, this.state.env.lookup()));
        }
        return;
      case 'WORKDIR': {
        const dir = word(ins.path);
        if (!this.state.workdirSet && this.state.platform.os !== 'windows' && !dir.startsWith('/')) {
          this.linter.report(WorkdirRelativePath, where, WorkdirRelativePath.message(dir));
        }
        this.state.workdirSet = true;
        return;
      }
      case 'RUN':
        for (const mount of ins.mounts) this.mount(ins, where, mount.options);
        return;
      case 'USER':
        word(ins.user);
        return;
      case 'VOLUME':
        ins.paths.forEach(word);
        return;
      case 'STOPSIGNAL':
        word(ins.signal);
        return;
      case 'EXPOSE':
        checkExposedPorts(
          ins.ports.flatMap((p) => this.guard(ins, p, () => expandWords(p, this.state.env.lookup(), { escape: this.df.directives.escape }))),
          where,
          this.linter,
        );
        return;
      case 'CMD':
      case 'ENTRYPOINT': {
        const slot = ins.kind === 'CMD' ? 'cmd' : 'entrypoint';
        this.usedOnce(slot, ins.keyword, where);
        if (ins.command.shellForm && this.state.shell.length === 0) {
          this.linter.report(JSONArgsRecommended, where, JSONArgsRecommended.message(ins.keyword));
        }
        return;
      }
      case 'HEALTHCHECK':
        this.usedOnce('healthcheck', ins.keyword, where);
        return;
      case 'SHELL':
        this.state.shell = [...ins.shell];
        return;
      case 'ARG':
        for (const decl of ins.args) this.declareArg(ins, where, decl.key, decl.value, decl.description);
        return;
      case 'ONBUILD':
      case 'MAINTAINER':
        return;
    }
  }

  /** ARG: a build-arg, else the expanded default, else the global value; named from now on. */
  private declareArg(ins: StageInstruction, where: LintLocation, key: string, written: string | undefined, description: string | undefined): void {
    this.secretCheck('ARG', key, where);
    const buildArg = Object.prototype.hasOwnProperty.call(this.options.buildArgs, key);
    let value: string | undefined;
    let inheritsGlobal = false;
    if (buildArg) value = this.options.buildArgs[key];
    else if (written !== undefined) value = this.expand(ins, where, written);
    else if (this.options.scope.env.has(key)) {
      value = this.options.scope.env.get(key);
      inheritsGlobal = true;
    }
    if (value !== undefined && !NON_ENV_ARGS.has(key)) this.state.env.set(key, value);
    this.state.declared.push(key);
    this.state.record.args.push({ key, value, ...(description === undefined ? {} : { description }), line: ins.range.start.line, inheritsGlobal });
  }

  /** RUN --mount values are expanded (and so checked); secrets and ssh sockets are recorded. */
  private mount(ins: StageInstruction, where: LintLocation, options: ReadonlyArray<{ key: string; value: string | undefined }>): void {
    const values = new Map<string, string | undefined>();
    for (const { key, value } of options) values.set(key, value === undefined ? undefined : this.expand(ins, where, value));
    const type = (values.get('type') ?? 'bind').toLowerCase();
    if (type !== 'secret' && type !== 'ssh') return;
    const required = values.has('required') && ['1', 't', 'true'].includes((values.get('required') ?? 'true').toLowerCase());
    const target = values.get('target') ?? values.get('dst') ?? values.get('destination') ?? '';
    const source = values.get('source') ?? values.get('src') ?? '';
    const line = ins.range.start.line;
    if (type === 'ssh') {
      const id = values.get('id') || 'default';
      if (!this.state.record.ssh.some((s) => s.id === id)) this.state.record.ssh.push({ id, required, line });
      return;
    }
    const id = source || values.get('id') || (target === '' ? '' : path.basename(target));
    if (id !== '' && !this.state.record.secrets.some((s) => s.id === id)) this.state.record.secrets.push({ id, required, line });
  }

  private usedOnce(slot: 'cmd' | 'entrypoint' | 'healthcheck', keyword: string, where: LintLocation): void {
    const previous = this.state[slot];
    // BuildKit points at the earlier instruction: that is the one that has no effect.
    if (previous) this.linter.report(MultipleInstructionsDisallowed, previous, MultipleInstructionsDisallowed.message(keyword));
    this.state[slot] = where;
  }

  private secretCheck(instruction: 'ARG' | 'ENV', key: string, where: LintLocation): void {
    if (SECRET_NAME.test(key) && !ALLOWED_NAME.test(key))
      this.linter.report(SecretsUsedInArgOrEnv, where, SecretsUsedInArgOrEnv.message(instruction, key));
  }

  /** Expands one word in the stage's environment, reporting names neither set nor declared. */
  private expand(ins: StageInstruction, where: LintLocation, text: string): string {
    return this.track(ins, where, text, expandTracked(text, this.state.env.lookup(), this.df.directives.escape));
  }

  /** Reports what `expansion` read undeclared (even when it then failed, as BuildKit does). */
  private track(ins: StageInstruction, where: LintLocation, text: string, expansion: TrackedExpansion): string {
    for (const name of expansion.unmatched) {
      if (this.state.declared.includes(name) || NON_ENV_ARGS.has(name)) continue;
      this.linter.report(UndefinedVar, where, UndefinedVar.message(name, searchSuggestion(name, this.state.env.keys(), true)));
    }
    if (expansion.error) throw new DockerfileError(expansion.error.message, locate(this.df.file, this.df.lines, ins.range, text));
    return expansion.value;
  }

  /** Runs an expansion; its error stops the walk at this instruction. */
  private guard<T>(ins: StageInstruction, text: string, run: () => T): T {
    try {
      return run();
    } catch (err) {
      if (err instanceof ExpansionError) throw new DockerfileError(err.message, locate(this.df.file, this.df.lines, ins.range, text));
      throw err;
    }
  }
}
