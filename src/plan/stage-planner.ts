/**
 * Plans one stage: walks its instructions (ONBUILD triggers of the base first), keeps the ARG scope
 * and the container config current, expands words, and emits steps. Pure.
 */
import path from 'node:path/posix';
import { ExpansionError, expandWord, expandWords } from '../dockerfile/expand.js';
import { formatGoDuration } from '../dockerfile/duration.js';
import { parseHeredocWord } from '../dockerfile/heredoc.js';
import type {
  AddInstruction,
  CommandLine,
  CopyInstruction,
  HealthcheckInstruction,
  RunInstruction,
  StageInstruction,
} from '../dockerfile/instructions.js';
import { chompHeredoc } from '../dockerfile/to-instruction.js';
import type { ContainerConfig, HistoryEntry } from '../image/oci-types.js';
import { DEFAULT_SHELL, exposedPorts, isSignal, setEnv } from './image-config.js';
import { resolveMount } from './mounts.js';
import { goQuoteList } from './go-quote.js';
import { ArgScope, historyArgs, isProxyArg, runEnvironment, stageLookup, type InheritedArgs } from './scope.js';
import type { FailAt } from './stage-graph.js';
import type { ExecStep, FileStep, Mount, PlanStep, SourceLocation } from './types.js';

/** What the stage planner needs from the whole plan. */
export interface StageContext {
  index: number;
  displayName: string;
  buildArgs: Readonly<Record<string, string>>;
  /** Global ARG values (after build-arg overrides) a stage may redeclare. */
  globals: ArgScope;
  /** Predefined args (platform args, TARGETSTAGE) a stage gets by declaring them. */
  builtins: Readonly<Record<string, string>>;
  resolveFrom(value: string, instruction: StageInstruction): SourceLocation;
  failAt: FailAt;
  /** Records that a build-arg was consumed by an ARG. */
  consumed: Set<string>;
  /** ARG values of the stage this one is built FROM. */
  inherited?: InheritedArgs;
}

const CHMOD_OCTAL = /^[0-7]{1,4}$/;
const CHMOD_SYMBOLIC = /^[ugoa]*[-+=][rwxXst]*([-+=][rwxXst]*)*(,[ugoa]*[-+=][rwxXst]*([-+=][rwxXst]*)*)*$/;

/** A stage being planned. */
export class StagePlanner {
  readonly steps: PlanStep[] = [];
  readonly args = new ArgScope();
  config: ContainerConfig;
  author: string | undefined;
  private cmdSet = false;
  private readonly ctx: StageContext;

  constructor(ctx: StageContext, config: ContainerConfig) {
    this.ctx = ctx;
    this.config = config;
  }

  /** Adds a step; numbered steps get their `[stage i/n]` names in `finish()`. */
  push(step: PlanStep): void {
    this.steps.push(step);
  }

  /** Applies one instruction. */
  apply(ins: StageInstruction, onbuild = false): void {
    const { start, end } = ins.range;
    const step = {
      id: `${this.ctx.index}.${this.steps.length}`,
      line: start.line,
      ...(end.line > start.line ? { endLine: end.line } : {}),
      ...(onbuild ? { onbuild } : {}),
    };
    const config = (created: string | undefined, emptyLayer = true): void =>
      this.push({
        ...step,
        kind: 'config',
        name: ins.original,
        instruction: ins.kind,
        ...(created === undefined ? {} : { history: history(created, emptyLayer) }),
      });
    const word = (text: string): string => this.expand(ins, text);
    switch (ins.kind) {
      case 'ARG': {
        for (const { key, value } of ins.args) this.declareArg(ins, key, value);
        config(`ARG ${ins.args.map(({ key }) => (this.args.get(key) === undefined ? key : `${key}=${this.args.get(key)}`)).join(' ')}`);
        return;
      }
      case 'ENV': {
        const pairs = ins.pairs.map(({ key, value }) => [word(key), word(value)] as const);
        let env = this.config.Env ?? [];
        for (const [key, value] of pairs) env = setEnv(env, key, value);
        this.config = { ...this.config, Env: env };
        config(`ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        return;
      }
      case 'LABEL': {
        const pairs = ins.pairs.map(({ key, value }) => [word(key), word(value)] as const);
        this.config = { ...this.config, Labels: { ...(this.config.Labels ?? {}), ...Object.fromEntries(pairs) } };
        config(`LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        return;
      }
      case 'EXPOSE': {
        let ports: string[];
        try {
          ports = exposedPorts(ins.ports.flatMap((p) => this.expandSplit(ins, p)));
        } catch (err) {
          return this.ctx.failAt(ins, (err as Error).message);
        }
        const exposed = { ...(this.config.ExposedPorts ?? {}) };
        for (const p of ports) exposed[p] = {};
        this.config = { ...this.config, ExposedPorts: exposed };
        config(`EXPOSE [${[...new Set(ports)].sort().join(' ')}]`);
        return;
      }
      case 'VOLUME': {
        const paths = ins.paths.map(word);
        if (paths.some((p) => p === '')) this.ctx.failAt(ins, 'VOLUME specified can not be an empty string');
        const volumes = { ...(this.config.Volumes ?? {}) };
        for (const p of paths) volumes[p] = {};
        this.config = { ...this.config, Volumes: volumes };
        config(`VOLUME [${paths.join(' ')}]`);
        return;
      }
      case 'USER':
        this.config = { ...this.config, User: word(ins.user) };
        config(`USER ${this.config.User}`);
        return;
      case 'STOPSIGNAL': {
        const signal = word(ins.signal);
        if (!isSignal(signal)) this.ctx.failAt(ins, `Invalid signal: ${signal}`, ins.signal);
        this.config = { ...this.config, StopSignal: signal };
        config(`STOPSIGNAL ${signal}`);
        return;
      }
      case 'SHELL':
        this.config = { ...this.config, Shell: [...ins.shell] };
        config(`SHELL [${ins.shell.join(' ')}]`);
        return;
      case 'CMD':
        // BuildKit marks every CMD ArgsEscaped (a Docker-spec field kept for compatibility).
        this.config = { ...this.config, Cmd: this.commandArgs(ins.command), ArgsEscaped: true };
        this.cmdSet = true;
        config(`CMD ${goQuoteList(this.config.Cmd ?? null)}`);
        return;
      case 'ENTRYPOINT': {
        const entrypoint = ins.command.args.length === 0 && !ins.command.shellForm ? null : this.commandArgs(ins.command);
        this.config = { ...this.config, Entrypoint: entrypoint, ...(this.cmdSet ? {} : { Cmd: null }) };
        config(`ENTRYPOINT ${goQuoteList(entrypoint)}`);
        return;
      }
      case 'HEALTHCHECK':
        this.config = { ...this.config, Healthcheck: healthConfig(ins) };
        config(`HEALTHCHECK ${describeHealth(ins)}`);
        return;
      case 'ONBUILD':
        this.config = { ...this.config, OnBuild: [...(this.config.OnBuild ?? []), ins.expression] };
        // BuildKit records no history entry for ONBUILD.
        config(undefined);
        return;
      case 'MAINTAINER':
        this.author = word(ins.maintainer);
        config(`MAINTAINER ${this.author}`);
        return;
      case 'WORKDIR': {
        const dir = this.resolvePath(word(ins.path));
        this.config = { ...this.config, WorkingDir: dir };
        if (dir === '/') return config('WORKDIR /');
        this.push({
          ...step,
          kind: 'file',
          action: 'mkdir',
          name: ins.original,
          from: { kind: 'context' },
          sources: [],
          inline: [],
          dest: dir,
          ...(this.config.User ? { chown: this.config.User } : {}),
          link: false,
          parents: true,
          exclude: [],
          env: [],
          needs: [],
          history: history(`WORKDIR ${dir}`, false),
        });
        return;
      }
      case 'RUN':
        this.push(this.run(ins, step));
        return;
      case 'COPY':
      case 'ADD':
        this.push(this.file(ins, step));
        return;
    }
  }

  /** Declares a stage ARG: build-arg, else its default, else the global value, else a builtin. */
  private declareArg(ins: StageInstruction, key: string, value: string | undefined): void {
    let resolved: string | undefined;
    if (Object.prototype.hasOwnProperty.call(this.ctx.buildArgs, key)) resolved = this.ctx.buildArgs[key];
    else if (value !== undefined) resolved = this.expand(ins, value, this.ctx.buildArgs);
    else if (this.ctx.globals.get(key) !== undefined) resolved = this.ctx.globals.get(key);
    else resolved = this.ctx.builtins[key];
    this.ctx.consumed.add(key);
    this.args.declare(key, resolved);
  }

  /**
   * Expands one word in the current scope; expansion errors point at the instruction. ARG defaults
   * also see build-args not declared yet (`ARG BAR=${FOO:?}` passes with `--build-arg FOO=…`).
   */
  expand(ins: StageInstruction, text: string, fallback: Readonly<Record<string, string>> = {}): string {
    const scoped = stageLookup(this.config.Env ?? [], this.args, this.ctx.inherited);
    const lookup = (name: string): string | undefined =>
      scoped(name) ?? (Object.prototype.hasOwnProperty.call(fallback, name) ? fallback[name] : undefined);
    try {
      return expandWord(text, lookup);
    } catch (err) {
      if (err instanceof ExpansionError) return this.ctx.failAt(ins, err.message, text);
      throw err;
    }
  }

  private expandSplit(ins: StageInstruction, text: string): string[] {
    try {
      return expandWords(text, stageLookup(this.config.Env ?? [], this.args, this.ctx.inherited));
    } catch (err) {
      if (err instanceof ExpansionError) return this.ctx.failAt(ins, err.message, text);
      throw err;
    }
  }

  private get workdir(): string {
    return this.config.WorkingDir || '/';
  }

  private get shell(): string[] {
    return this.config.Shell ?? DEFAULT_SHELL;
  }

  /** Joins a relative path to WORKDIR; keeps a trailing `/` (or `/.`) as "a directory". */
  private resolvePath(p: string, keepDirSuffix = false): string {
    const dirSuffix = keepDirSuffix && (p === '' || p === '.' || p.endsWith('/') || p.endsWith('/.'));
    const joined = path.isAbsolute(p) ? path.normalize(p) : path.join(this.workdir, p);
    const clean = joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
    return dirSuffix && clean !== '/' ? `${clean}/` : clean;
  }

  private commandArgs(command: CommandLine): string[] {
    return command.shellForm ? [...this.shell, command.args[0] ?? ''] : [...command.args];
  }

  private run(ins: RunInstruction, step: { id: string; line: number; endLine?: number }): ExecStep {
    const { args, files } = runArgs(ins.command, this.shell);
    let sshCount = 0;
    const mounts: Mount[] = ins.mounts.map((raw) => {
      const mount = resolveMount(raw, {
        expand: (v) => this.expand(ins, v),
        workdir: this.workdir,
        resolveFrom: (v) => this.ctx.resolveFrom(v, ins),
        sshCount,
        fail: (message, needle) => this.ctx.failAt(ins, message, needle ?? raw.text),
      });
      if (mount.type === 'ssh') sshCount++;
      return mount;
    });
    const network = ins.network ?? 'default';
    if (!['default', 'none', 'host'].includes(network)) this.ctx.failAt(ins, `unsupported network mode "${network}"`, '--network');
    const security = ins.security ?? 'sandbox';
    if (!['sandbox', 'insecure'].includes(security)) this.ctx.failAt(ins, `unsupported security mode "${security}"`, '--security');
    const env = runEnvironment(this.config.Env ?? [], this.args, this.ctx.inherited);
    const prefix = historyArgs(env, this.args, this.ctx.inherited);
    // A proxy build-arg in any letter case reaches RUN in both spellings, as BuildKit's proxy env
    // does (`https_proxy` gives HTTPS_PROXY and https_proxy); the upper-case one wins when both are given.
    const proxies = new Map<string, string>();
    for (const [k, v] of Object.entries(this.ctx.buildArgs))
      if (isProxyArg(k) && (k === k.toUpperCase() || !proxies.has(k.toUpperCase()))) proxies.set(k.toUpperCase(), v);
    const proxyEnv = [...proxies].flatMap(([k, v]) => [`${k}=${v}`, `${k.toLowerCase()}=${v}`]);
    return {
      ...step,
      kind: 'exec',
      name: ins.original,
      args,
      env,
      proxyEnv,
      cwd: this.workdir,
      user: this.config.User ?? '',
      mounts,
      network: network as ExecStep['network'],
      security: security as ExecStep['security'],
      files,
      needs: stageNeeds(mounts.flatMap((m) => ('from' in m && m.from ? [m.from] : []))),
      history: history(`RUN ${prefix}${args.join(' ')} # buildkit`, false),
    };
  }

  private file(ins: CopyInstruction | AddInstruction, step: { id: string; line: number; endLine?: number }): FileStep {
    const word = (text: string): string => this.expand(ins, text);
    const sources = ins.sources.map(word);
    const dest = this.resolvePath(word(ins.dest), true);
    const chmod = ins.chmod === undefined ? undefined : word(ins.chmod);
    if (chmod !== undefined && !(CHMOD_OCTAL.test(chmod) || CHMOD_SYMBOLIC.test(chmod))) {
      this.ctx.failAt(ins, `invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777`, ins.chmod);
    }
    const from: SourceLocation = ins.kind === 'COPY' && ins.from !== undefined ? this.ctx.resolveFrom(ins.from, ins) : { kind: 'context' };
    // BuildKit's history text: the flags that shape the files, the sources, then the destination as written.
    const flags = [
      ...(ins.parents ? ['--parents'] : []),
      ...(ins.chown === undefined ? [] : [`--chown=${word(ins.chown)}`]),
      ...(chmod === undefined ? [] : [`--chmod=${chmod}`]),
    ];
    const createdBy = [ins.kind, ...flags, ...sources, ...ins.inline.map((i) => `<<${i.path}`), word(ins.dest)].join(' ');
    return {
      ...step,
      kind: 'file',
      action: ins.kind === 'COPY' ? 'copy' : 'add',
      name: ins.original,
      from,
      sources,
      inline: ins.inline.map((i) => ({ ...i })),
      dest,
      ...(ins.chown === undefined ? {} : { chown: word(ins.chown) }),
      ...(chmod === undefined ? {} : { chmod }),
      link: ins.link,
      parents: ins.parents,
      exclude: ins.exclude.map(word),
      ...(ins.kind === 'ADD'
        ? {
            ...(ins.checksum === undefined ? {} : { checksum: word(ins.checksum) }),
            keepGitDir: ins.keepGitDir,
            ...(ins.unpack === undefined ? {} : { unpack: ins.unpack }),
          }
        : {}),
      env: ins.inline.some((i) => i.expand) ? runEnvironment(this.config.Env ?? [], this.args, this.ctx.inherited) : [],
      needs: stageNeeds([from]),
      history: history(`${createdBy} # buildkit`, false),
    };
  }
}

/** BuildKit's history comment on every entry its Dockerfile frontend writes. */
const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

function history(createdBy: string, emptyLayer: boolean): HistoryEntry {
  return emptyLayer ? { created_by: createdBy, comment: HISTORY_COMMENT, empty_layer: true } : { created_by: createdBy, comment: HISTORY_COMMENT };
}

function stageNeeds(locations: SourceLocation[]): number[] {
  return [...new Set(locations.flatMap((l) => (l.kind === 'stage' ? [l.index] : [])))].sort((a, b) => a - b);
}

/**
 * RUN's argv, as BuildKit's dispatchRun builds it. A lone heredoc (`RUN <<EOF`) is the script: a
 * `#!` body becomes an executable file that SHELL is asked to run (`/bin/sh -c /dev/pipes/EOF`,
 * also the history text), any other body is run by SHELL. Heredocs mixed with other words go to
 * the shell verbatim: the line, then each body and its terminator after a newline, with no newline
 * after the last terminator.
 */
export function runArgs(command: CommandLine, shell: string[]): { args: string[]; files: ExecStep['files'] } {
  if (!command.shellForm) return { args: [...command.args], files: [] };
  const line = command.args[0] ?? '';
  const [only] = command.heredocs;
  if (command.heredocs.length === 1 && only && parseHeredocWord(line.trim())?.name === only.name) {
    const body = only.chomp ? chompHeredoc(only.content) : only.content;
    if (body.startsWith('#!')) {
      const file = `/dev/pipes/${only.name}`;
      return { args: [...shell, file], files: [{ path: file, content: body, mode: 0o755 }] };
    }
    return { args: [...shell, body], files: [] };
  }
  if (command.heredocs.length > 0) {
    const script = `${line}${command.heredocs.map((h) => `\n${h.content}${h.name}`).join('')}`;
    return { args: [...shell, script], files: [] };
  }
  return { args: [...shell, line], files: [] };
}

function healthConfig(ins: HealthcheckInstruction): NonNullable<ContainerConfig['Healthcheck']> {
  const health: NonNullable<ContainerConfig['Healthcheck']> = { Test: [...ins.test] };
  if (ins.interval) health.Interval = ins.interval;
  if (ins.timeout) health.Timeout = ins.timeout;
  if (ins.startPeriod) health.StartPeriod = ins.startPeriod;
  if (ins.startInterval) health.StartInterval = ins.startInterval;
  if (ins.retries) health.Retries = ins.retries;
  return health;
}

/** BuildKit's history text for HEALTHCHECK: Go's `%+v` of the health config. */
function describeHealth(ins: HealthcheckInstruction): string {
  const d = formatGoDuration;
  return `{Test:[${ins.test.join(' ')}] Interval:${d(ins.interval)} Timeout:${d(ins.timeout)} StartPeriod:${d(ins.startPeriod)} StartInterval:${d(ins.startInterval)} Retries:${ins.retries}}`;
}
