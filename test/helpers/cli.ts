/** Runs the built `tsbuild` command (dist/) the way a user does, capturing its output. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './shared.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const bin = path.join(projectRoot, 'bin', 'tsbuild.js');

/** Runs `tsbuild ...args` from the project root. `npm test` builds dist/ first. */
export function tsbuild(args: string[], options: CliOptions = {}): CliResult {
  const result = tsbuildBytes(args, options);
  return { status: result.status, stdout: result.stdout.toString('utf8'), stderr: result.stderr };
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeout?: number;
  /** What the command reads on stdin (default: nothing). */
  input?: string | Buffer;
  /**
   * Run `bin/tsbuild.js` as a program (its shell line first, then the `node` on PATH), as an
   * installed command runs, instead of `node bin/tsbuild.js`. Only `tsbuildAsync` honours it.
   */
  asProgram?: boolean;
}

/** `tsbuild(...)` with stdout as bytes (an archive written to stdout). */
export function tsbuildBytes(args: string[], options: CliOptions = {}): { status: number | null; stdout: Buffer; stderr: string } {
  if (!existsSync(path.join(projectRoot, 'dist', 'cli', 'tsbuild.cjs'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the CLI tests');
  }
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? projectRoot,
    env: { ...process.env, ...options.env },
    input: options.input ?? '',
    maxBuffer: 256 * 1024 * 1024,
    // A hang is a failure with a status of null, not a stuck suite.
    ...(options.timeout ? { timeout: options.timeout, killSignal: 'SIGKILL' as const } : {}),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
}

/**
 * `tsbuild(...)` without blocking the test's own event loop: for commands that talk to a server the
 * test itself runs (an HTTP server in the test process cannot answer while `spawnSync` waits).
 */
export function tsbuildAsync(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [file, argv] = options.asProgram ? [bin, args] : [process.execPath, [bin, ...args]];
    const child = spawn(file, argv, {
      cwd: options.cwd ?? projectRoot,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = options.timeout ? setTimeout(() => child.kill('SIGKILL'), options.timeout) : undefined;
    child.on('error', reject);
    child.on('close', (status) => {
      if (timer) clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
