/**
 * The typed instruction model: a discriminated union on `kind`, one member per Dockerfile
 * instruction. Values are as written (not yet expanded): expansion needs the ARG/ENV scope of the
 * stage, which only the planner knows.
 */
import type { SourceRange } from './errors.js';
import type { Heredoc } from './node.js';

/** What every instruction carries: where it is and how it was written. */
export interface InstructionBase {
  range: SourceRange;
  /** The logical line as written, e.g. `COPY --from=build /out /out`. */
  original: string;
  /** The keyword as written (`COPY`, `copy`): the casing checks read it. */
  keyword: string;
}

/** A command line of RUN, CMD, ENTRYPOINT or HEALTHCHECK CMD. */
export interface CommandLine {
  /** Exec form: the argv. Shell form: one element, the command string. */
  args: string[];
  /** True for shell form: the stage's SHELL is prepended. */
  shellForm: boolean;
  /** Here-documents of a RUN. */
  heredocs: Heredoc[];
}

/** A `--mount` option list as written: keys validated and lowercased, values not yet expanded. */
export interface RawMount {
  /** The flag value as written (`type=cache,target=/root/.cache`). */
  text: string;
  options: Array<{ key: string; value: string | undefined }>;
}

/** A key/value pair of ENV or LABEL. */
export interface KeyValue {
  key: string;
  value: string;
  /** Written in the legacy `ENV KEY value` form, without `=`. */
  legacy?: boolean;
}

/** One name of an ARG instruction, with its default when given. */
export interface ArgDeclaration {
  key: string;
  /** The default as written; undefined for `ARG NAME`. */
  value: string | undefined;
  /** Its description: a comment line above the ARG reading `# NAME text`. */
  description?: string;
}

/** A COPY or ADD source given as a here-document. */
export interface InlineSource {
  /** The file name (the delimiter word). */
  path: string;
  content: string;
  /** Unquoted delimiter: `${name}` in the content is expanded. */
  expand: boolean;
}

export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  image: string;
  /** The stage name, lowercased; undefined for an unnamed stage. */
  stageName?: string;
  /** For `FROM image AS Name`: the `AS` keyword and the name as written. */
  alias?: { keyword: string; name: string };
  /** The stage's description: a comment line above the FROM reading `# name text`. */
  description?: string;
  platform?: string;
}

export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  command: CommandLine;
  mounts: RawMount[];
  network?: string;
  security?: string;
}

export interface CmdInstruction extends InstructionBase {
  kind: 'CMD';
  command: CommandLine;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'ENTRYPOINT';
  command: CommandLine;
}

export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`. */
  test: string[];
  /** Durations in nanoseconds, as Docker's config stores them; 0 = inherit the default. */
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

/** Fields shared by COPY and ADD. */
export interface FileInstructionBase extends InstructionBase {
  sources: string[];
  inline: InlineSource[];
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
}

export interface CopyInstruction extends FileInstructionBase {
  kind: 'COPY';
  from?: string;
}

export interface AddInstruction extends FileInstructionBase {
  kind: 'ADD';
  checksum?: string;
  keepGitDir: boolean;
  /** `--unpack`: undefined means the default (unpack local archives, not remote ones). */
  unpack?: boolean;
}

export interface EnvInstruction extends InstructionBase {
  kind: 'ENV';
  pairs: KeyValue[];
}

export interface LabelInstruction extends InstructionBase {
  kind: 'LABEL';
  pairs: KeyValue[];
}

export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  args: ArgDeclaration[];
}

export interface ExposeInstruction extends InstructionBase {
  kind: 'EXPOSE';
  ports: string[];
}

export interface VolumeInstruction extends InstructionBase {
  kind: 'VOLUME';
  paths: string[];
}

export interface UserInstruction extends InstructionBase {
  kind: 'USER';
  user: string;
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'WORKDIR';
  path: string;
}

export interface StopsignalInstruction extends InstructionBase {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  shell: string[];
}

export interface MaintainerInstruction extends InstructionBase {
  kind: 'MAINTAINER';
  maintainer: string;
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  /** The trigger as stored in the image config (`RUN echo hi`, heredoc bodies appended). */
  expression: string;
  /** The trigger, parsed (and so validated) at definition time. */
  trigger: StageInstruction;
}

/** Any instruction. */
export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | HealthcheckInstruction
  | CopyInstruction
  | AddInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | StopsignalInstruction
  | ShellInstruction
  | MaintainerInstruction
  | OnbuildInstruction;

/** An instruction that can appear inside a stage (everything but FROM). */
export type StageInstruction = Exclude<Instruction, FromInstruction>;

/** The keyword of every instruction, for "did you mean" suggestions. */
export const INSTRUCTION_KEYWORDS = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
] as const;
