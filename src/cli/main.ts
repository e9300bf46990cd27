/**
 * The `tsbuild` command: commander wiring and the single error boundary. Errors print as one line
 * (plus a source excerpt for Dockerfile errors) on stderr with exit status 1; a bug prints a
 * "please report" line with exit status 2. `--debug` adds stack traces. Running it is left to the
 * caller (`bin/tsbuild.js`, or `run.ts` in the ES module bundle), so the build can load the command
 * line and exercise it for V8's code cache without running a command.
 */
import { Command, CommanderError } from 'commander';
import { CancelledError, TsbuildError } from '../errors.js';
import { registerBuild } from './commands/build.js';
import { registerImages } from './commands/images.js';
import { registerLogin } from './commands/login.js';
import { registerPrune } from './commands/prune.js';
import { registerPull } from './commands/pull.js';
import { addGlobalFlags, type CliContext } from './context.js';
import { formatStepFailure } from './render/step-failure.js';

const EXIT_ERROR = 1;
const EXIT_BUG = 2;
/** 128 + SIGINT, as shells report an interrupted command. */
const EXIT_INTERRUPTED = 130;

function program(context: CliContext): Command {
  const root = addGlobalFlags(new Command('tsbuild'))
    .description('Build OCI images from Dockerfiles, without a daemon.')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride();
  registerBuild(root, context);
  registerPull(root, context);
  registerImages(root, context);
  registerLogin(root, context);
  registerPrune(root, context);
  return root;
}

/** Runs the CLI with `argv` (as `process.argv`); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  // Ctrl-C aborts the running operation, which removes what it had half-written, then we exit 130.
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort(new CancelledError('interrupted'));
  // `on`, not `once`: a second Ctrl-C must not kill the process while it cleans up.
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  // A reader that goes away (`tsbuild build . 2>&1 | head`) makes writes fail with EPIPE. buildx
  // dies of SIGPIPE there and BuildKit cancels the build; we abort the same way, but only after the
  // running step's container, mounts and scratch directories are removed, then exit 1.
  let outputClosed = false;
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE' || outputClosed) return;
    outputClosed = true;
    controller.abort(new CancelledError('the output pipe was closed'));
  };
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);
  const context: CliContext = { signal: controller.signal, cleanups: [] };
  const cli = program(context);
  try {
    await cli.parseAsync(argv.map(bareFlagValue));
    return context.exitCode ?? 0;
  } catch (err) {
    if (outputClosed) {
      // stderr may still be open when only stdout was closed.
      process.stderr.write('error: the output pipe was closed; the build was stopped\n');
      return EXIT_ERROR;
    }
    if (controller.signal.aborted) {
      process.stderr.write('interrupted\n');
      return EXIT_INTERRUPTED;
    }
    return report(err, argv.includes('--debug'));
  } finally {
    // The command's own outcome is what to report; what a cleanup leaves, the next command reclaims.
    for (const cleanup of context.cleanups.splice(0)) await cleanup().catch(() => undefined);
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    // The listeners stay: a write after the pipe closed must not crash the exit.
  }
}

/**
 * `--print-plan` takes an optional value; commander would read the next word (the context path) as
 * that value, so a bare flag is given its default explicitly.
 */
function bareFlagValue(arg: string): string {
  return arg === '--print-plan' ? '--print-plan=text' : arg;
}

/** System errors that come from the machine's state rather than from tsbuild's logic. */
const ENVIRONMENT_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'ENOMEM']);

function isEnvironmentError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && ENVIRONMENT_ERRORS.has((err as NodeJS.ErrnoException).code ?? '');
}

function report(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander has printed its own message (or help/version, which exit 0).
    return err.exitCode === 0 ? 0 : EXIT_ERROR;
  }
  if (err instanceof TsbuildError && err.code !== 'internal') {
    // A failed build step is printed as buildx prints it: the step, its output, the Dockerfile lines.
    process.stderr.write(err.step ? formatStepFailure(err.step, err.message, err.hint) : `error: ${err.describe()}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return EXIT_ERROR;
  }
  if (isEnvironmentError(err)) {
    // The machine said no (a full disk, a read-only or failing filesystem, no file handles left):
    // not a bug, and Node's message names the call and, where it has one, the path.
    process.stderr.write(`error: ${err.message}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return EXIT_ERROR;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`internal error: ${message}\nThis is a bug in tsbuild; please report it with the command you ran.\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return EXIT_BUG;
}
