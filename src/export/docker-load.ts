/**
 * `--load` (and `type=docker` without `dest`): the image as a docker archive streamed into
 * `docker load`, as buildx loads into the Docker daemon its CLI talks to (`DOCKER_HOST`, the current
 * context). Nothing is staged on disk; a missing docker CLI or a daemon that refuses the archive is
 * one line naming the cause.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { FailedPreconditionError, UnavailableError } from '../errors.js';
import { missingTool } from '../util/tool-runner.js';

/** A running `docker load`: where the archive goes, and its end. */
export interface DockerLoad {
  stdin: Writable;
  /** Resolves to what `docker load` printed (`Loaded image: …`) once it has taken the archive. */
  done(): Promise<string>;
}

/** The docker program `--load` runs. */
function dockerProgram(): string {
  return process.env.TSBUILD_DOCKER || 'docker';
}

/** Fails in one line, before a build runs, when `--load` has no docker CLI to load with. */
export function checkDockerCli(): void {
  const program = dockerProgram();
  const found = program.includes('/')
    ? isExecutable(program)
    : (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && isExecutable(path.join(dir, program)));
  if (!found) throw missing(program);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function missing(program: string): FailedPreconditionError {
  return missingTool(program, {
    purpose: '--load streams the image into docker load',
    alternative: 'write the archive with -o type=docker,dest=FILE',
  });
}

/** Starts `docker load` (the `docker` program on PATH, or `$TSBUILD_DOCKER`). */
export function startDockerLoad(signal?: AbortSignal): DockerLoad {
  const program = dockerProgram();
  const child = spawn(program, ['load'], { stdio: ['pipe', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(missing(program));
      else reject(signal?.aborted ? signal.reason : new FailedPreconditionError(`--load: cannot run ${program}: ${err.message}`));
    });
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new UnavailableError(`--load: docker load failed: ${lastLine(stderr) || `exit status ${code}`}`));
    });
  });
  // A docker that fails early closes its stdin: the write error is reported through `done()`.
  child.stdin.on('error', () => undefined);
  exited.catch(() => undefined); // observed by the caller through done()
  return { stdin: child.stdin, done: () => exited };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
