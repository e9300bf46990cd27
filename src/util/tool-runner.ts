/**
 * Running the short tools Node has no call for (`mount`, `umount`, `getfattr`, `setfattr`, `mknod`)
 * without forking Node for each. Starting a process from Node forks the whole Node process, and its
 * main thread waits until the child has exec'ed: 10–15 ms per tool at a build's ~100 MB RSS on a
 * small VM, with every other stage stalled meanwhile. Instead one small shell is started once and
 * forks the tools: a request is a line `<id> <quoted command>` on its stdin, the tool's output goes
 * to files in a private directory, and the shell answers `<id> <exit status>` on its stdout.
 *
 * The shell runs in its own process group, so a Ctrl-C reaches tsbuild (which then unmounts through
 * it) and not the shell; when its stdin closes, that is when tsbuild exits however it exits, it
 * waits for its tools, removes its directory and ends. Should the shell die too (a whole process
 * group killed), its directory is named after tsbuild (`util/system-temp.ts`) and the next command
 * removes it. A request the line protocol cannot carry (an
 * argument with a newline) is run directly.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FailedPreconditionError, UnavailableError } from '../errors.js';
import { makeSystemTemp } from './system-temp.js';

export interface ToolResult {
  /** The exit status (127: the tool was not found). */
  code: number;
  stdout: Buffer;
  stderr: string;
}

// `$1` is the output directory. Each request runs in the background: two forks of a small shell
// and one exec. `read -r` keeps backslashes; the command is eval'ed from its quoted form.
const SCRIPT = [
  'while IFS= read -r line; do',
  '  id=${line%% *}',
  '  { (eval "exec ${line#* }") <"/dev/null" >"$1/$id.out" 2>"$1/$id.err"; echo "$id $?"; } &',
  'done',
  'wait',
  'exec rm -rf -- "$1"',
].join('\n');

/**
 * How long the shell stays after its last request, for the next one: a build's tools come in
 * bursts seconds apart (a RUN's mount, then its diff), and a new shell costs a Node fork again. It
 * never keeps the process alive.
 */
const LINGER_MS = 5000;
/** Not exit statuses: no shell could be started; the shell was killed. */
const NO_SHELL = -1;
const SHELL_KILLED = -2;

class ToolRunner {
  private shell: ChildProcess | undefined;
  private dir: string | undefined;
  private readonly waiting = new Map<number, (code: number) => void>();
  private next = 0;
  private linger: NodeJS.Timeout | undefined;
  /** Set when no shell can be started here: every tool runs directly. */
  private noShell = false;

  async run(program: string, args: readonly string[]): Promise<ToolResult> {
    if (this.noShell || [program, ...args].some((a) => a.includes('\n') || a.includes('\0'))) return runDirectly(program, args);
    const { shell, dir } = this.started();
    const id = this.next++;
    clearTimeout(this.linger);
    const exited = new Promise<number>((resolve) => this.waiting.set(id, resolve));
    this.hold(true);
    shell.stdin?.write(`${id} ${[program, ...args].map(quote).join(' ')}\n`);
    const code = await exited;
    if (this.waiting.size === 0) {
      this.hold(false);
      this.linger = setTimeout(() => this.stop(), LINGER_MS).unref();
    }
    // No shell could be started (the request never ran): tools run directly from now on.
    if (code === NO_SHELL) return runDirectly(program, args);
    // The shell was killed: whether the tool ran is unknown, so it is not run again.
    if (code === SHELL_KILLED) return { code: 126, stdout: Buffer.alloc(0), stderr: `the shell running ${program} was killed\n` };
    const stderr = take(path.join(dir, `${id}.err`)).toString('utf8');
    return { code, stdout: take(path.join(dir, `${id}.out`)), stderr };
  }

  private started(): { shell: ChildProcess; dir: string } {
    if (this.shell && this.dir) return { shell: this.shell, dir: this.dir };
    // Named after this process: if the shell dies with it (a killed process group) the next command reclaims it.
    const dir = makeSystemTemp('tools');
    const shell = spawn('/bin/sh', ['-c', SCRIPT, 'tsbuild-tools', dir], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    shell.once('error', () => {
      this.noShell = shell.pid === undefined;
      this.fail(shell, this.noShell ? NO_SHELL : SHELL_KILLED);
    });
    shell.once('exit', () => this.fail(shell, SHELL_KILLED));
    createInterface({ input: shell.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const [id, code] = line.split(' ').map(Number);
      const resolve = this.waiting.get(id as number);
      this.waiting.delete(id as number);
      resolve?.(code as number);
    });
    // A write to a shell that has died fails with EPIPE on this stream, and an unhandled 'error'
    // would end tsbuild. Nothing is lost by ignoring it: the shell's 'exit' (above) answers every
    // request still waiting.
    shell.stdin?.on('error', () => undefined);
    this.shell = shell;
    this.dir = dir;
    this.hold(false);
    return { shell, dir };
  }

  /** While requests wait, the shell keeps the process alive; idle, it never does. */
  private hold(on: boolean): void {
    const handles = [this.shell, this.shell?.stdin, this.shell?.stdout] as Array<{ ref(): void; unref(): void } | null | undefined>;
    for (const handle of handles) {
      if (on) handle?.ref();
      else handle?.unref();
    }
  }

  /** The shell went away: what waited gets `why`, and the next request starts another shell. */
  private fail(shell: ChildProcess, why: number): void {
    if (this.shell !== shell) return;
    this.shell = undefined;
    for (const [id, resolve] of this.waiting) {
      this.waiting.delete(id);
      resolve(why);
    }
    this.removeDir();
  }

  /** Ends the idle shell (`force`: even with requests waiting, as the process exits). */
  stop(force = false): void {
    const shell = this.shell;
    if (!shell || (this.waiting.size > 0 && !force)) return;
    this.shell = undefined;
    shell.stdin?.end();
    this.removeDir();
  }

  private removeDir(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** A tool's output file, read and removed (empty if the shell could not create it: see the status). */
function take(file: string): Buffer {
  try {
    const data = readFileSync(file);
    unlinkSync(file);
    return data;
  } catch {
    return Buffer.alloc(0);
  }
}

/** A shell word for `arg`: single-quoted, with `'` written as `'\''`. */
function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

function runDirectly(program: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(program, [...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : err.code === 'ENOENT' ? 127 : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString('utf8') });
    });
  });
}

const runner = new ToolRunner();
process.once('exit', () => runner.stop(true));

/** Runs `program` with `args` to completion; never rejects (see `code`). */
export function runTool(program: string, args: readonly string[]): Promise<ToolResult> {
  return runner.run(program, args);
}

/** `runTool`, but a non-zero status throws "`label` failed: its stderr"; resolves to its stdout. */
export async function runToolChecked(program: string, args: readonly string[], label = program): Promise<Buffer> {
  const { code, stdout, stderr } = await runTool(program, args);
  if (code === 127) throw missingTool(program);
  if (code !== 0) throw new UnavailableError(`${label} failed: ${stderr.trim() || `exit status ${code}`}`);
  return stdout;
}

/** The Debian package that brings each tool tsbuild runs. */
const PACKAGES: Record<string, string> = {
  mount: 'mount',
  umount: 'mount',
  getfattr: 'attr',
  setfattr: 'attr',
  mknod: 'coreutils',
  cp: 'coreutils',
  du: 'coreutils',
  runc: 'runc',
  zstd: 'zstd',
  xz: 'xz-utils',
  bzip2: 'bzip2',
  git: 'git',
  docker: 'docker.io',
  'ssh-agent': 'openssh-client',
  'ssh-add': 'openssh-client',
  newuidmap: 'uidmap',
  newgidmap: 'uidmap',
  unshare: 'util-linux',
  setpriv: 'util-linux',
  ip: 'iproute2',
};

/** What a missing-tool error says beyond the tool's name. */
export interface MissingToolOptions {
  /** What needed the tool, after a colon: `--load streams the image into it`. */
  purpose?: string;
  /** A way around it, added to the hint after the install line. */
  alternative?: string;
  /** The Debian package, for a program run under another name than its own (a configured runc). */
  package?: string;
}

/**
 * The error for a tool that is not on PATH (or, named by a path, not there): a missing tool is
 * never taken for an empty result, and the user is told which package brings it.
 */
export function missingTool(program: string, options: MissingToolOptions = {}): FailedPreconditionError {
  const where = program.includes('/') ? 'no such executable' : 'not found on PATH';
  const pkg = options.package ?? PACKAGES[path.basename(program)];
  const install = pkg ? `install it: apt-get install ${pkg}` : `install ${path.basename(program)}`;
  return new FailedPreconditionError(`${program} is not installed (${where})${options.purpose ? `: ${options.purpose}` : ''}`, {
    hint: options.alternative ? `${install}; or ${options.alternative}` : install,
  });
}
