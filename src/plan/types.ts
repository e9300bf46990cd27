/**
 * The build plan: pure, serialisable data describing what a build will do, stage by stage and step
 * by step, with every variable already expanded. The solver (a later module) turns steps into
 * vertices; `--print-plan` prints this structure as text or JSON.
 */
import type { ContainerConfig, HistoryEntry } from '../image/oci-types.js';

/** Where a stage starts from. */
export type StageBase = { kind: 'scratch' } | { kind: 'image'; ref: string } | { kind: 'stage'; index: number; name: string };

/** Where COPY/ADD or a mount reads from. */
export type SourceLocation = { kind: 'context' } | { kind: 'stage'; index: number; name: string } | { kind: 'image'; ref: string };

/** A RUN mount, fully expanded and checked. Modes are numbers (0o755). */
export type Mount =
  | { type: 'bind'; target: string; source: string; from: SourceLocation; readonly: boolean }
  | {
      type: 'cache';
      target: string;
      id: string;
      sharing: 'shared' | 'private' | 'locked';
      source: string;
      from?: SourceLocation;
      readonly: boolean;
      mode: number;
      uid: number;
      gid: number;
    }
  | { type: 'tmpfs'; target: string; size?: number }
  | { type: 'secret'; id: string; target?: string; env?: string; required: boolean; mode: number; uid: number; gid: number }
  | { type: 'ssh'; id: string; target: string; required: boolean; mode: number; uid: number; gid: number };

/** What every step has. */
export interface StepBase {
  /** Stable id within the plan: `<stage index>.<step index>`. */
  id: string;
  /** The progress name: `[build 2/4] RUN make` for numbered steps, the instruction otherwise. */
  name: string;
  /** The Dockerfile line the step comes from. */
  line: number;
  /** Its last line, when the instruction spans several (continuations, heredocs). */
  endLine?: number;
  /** True when the step comes from an ONBUILD trigger of the base. */
  onbuild?: boolean;
  /** The image history entry this step adds (none for ONBUILD, as in BuildKit). */
  history?: HistoryEntry;
}

/** FROM an image: pull it and unpack its layers. */
export interface SourceStep extends StepBase {
  kind: 'source';
  ref: string;
  /** The manifest digest, when the base image was resolved. */
  digest?: string;
  platform: string;
}

/** RUN: a process in a container. */
export interface ExecStep extends StepBase {
  kind: 'exec';
  /** The full argv (SHELL already prepended for shell form). */
  args: string[];
  /** Environment: image ENV, then declared ARGs with values (in the cache key). */
  env: string[];
  /** Proxy build-args: in the environment but not in the cache key. */
  proxyEnv: string[];
  cwd: string;
  /** As written in USER (`name`, `uid:gid`); resolved against the rootfs when run. Empty = root. */
  user: string;
  mounts: Mount[];
  network: 'default' | 'none' | 'host';
  security: 'sandbox' | 'insecure';
  /** Here-document scripts to place in the container before running (`#!` bodies). */
  files: Array<{ path: string; content: string; mode: number }>;
  /** Stages the step reads through `--mount from=`. */
  needs: number[];
}

/** COPY, ADD, or the directory WORKDIR creates. */
export interface FileStep extends StepBase {
  kind: 'file';
  action: 'copy' | 'add' | 'mkdir';
  from: SourceLocation;
  sources: string[];
  /** Here-document sources: content is expanded later when `expand` (needs the stage env). */
  inline: Array<{ path: string; content: string; expand: boolean }>;
  /** Absolute destination (WORKDIR applied); a trailing `/` is kept: it means "into this directory". */
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
  checksum?: string;
  keepGitDir?: boolean;
  unpack?: boolean;
  /** The environment `${VAR}` in expandable heredoc sources sees. */
  env: string[];
  /** Stages the step reads (`--from`). */
  needs: number[];
}

/** A step that only changes the image config (ENV, LABEL, CMD, …). */
export interface ConfigStep extends StepBase {
  kind: 'config';
  instruction: string;
}

export type PlanStep = SourceStep | ExecStep | FileStep | ConfigStep;

/** One stage of the plan. */
export interface PlannedStage {
  index: number;
  /** The stage's name, or `stage-<index>` when unnamed. */
  name: string;
  line: number;
  base: StageBase;
  platform: string;
  /** Stage indexes this stage needs (its base stage, `--from`, `--mount from=`), ascending. */
  needs: number[];
  steps: PlanStep[];
  /** The container config after the last step. */
  config: ContainerConfig;
  /** MAINTAINER, recorded as the image author. */
  author?: string;
  /** True when the base image's config was supplied (otherwise inherited fields are unknown). */
  baseResolved: boolean;
}

/** The whole plan. */
export interface BuildPlan {
  dockerfile: string;
  target: { index: number; name: string };
  platforms: { build: string; target: string };
  /** Reachable stages only, in Dockerfile order (which is a topological order). */
  stages: PlannedStage[];
  warnings: string[];
}
