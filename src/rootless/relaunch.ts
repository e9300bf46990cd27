/**
 * Rootless builds: an unprivileged user's tsbuild runs the command again inside a user namespace
 * of its own, mapped from the user's subordinate ranges (`id-ranges.ts`), with a mount namespace
 * beside it. There it is root: overlay mounts (the kernel allows them in a user namespace since
 * 5.11), `chown` to any mapped id, runc, network namespaces, all work as for the host's root, and
 * each id in a layer is a real owner on disk (image uid 1000 is host uid START+999), so the layers
 * are the same as root's. This is rootlesskit's and podman's design without a daemon: the
 * namespace lives exactly as long as the command.
 *
 * The chain is `unshare --user --mount` (util-linux) → `sh`, which says it runs, waits while this
 * process maps its ids with `newuidmap`/`newgidmap` (`write-id-maps.ts`), then hands the real
 * stderr back → `setpriv --pdeathsig SIGKILL` → node with the same arguments (root in the
 * namespace from that exec on, with all its capabilities there). Until the shell's redirection,
 * stderr is a pipe read here, so a namespace that cannot be made is one line of ours, not
 * unshare's words; after it, the command writes to the terminal itself (the live progress view
 * needs a TTY). Each wait of the handshake ends when the process waited for ends (the shell reads
 * EOF when this process dies; unshare's exit ends the wait here), so no failure can hang. The
 * parent-death signal ends the inner command if this process is killed (SIGKILL included); when
 * the inner one ends, its mount namespace and every mount in it go with it, which is what the
 * next command's reclaim relies on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { CancelledError, FailedPreconditionError } from '../errors.js';
import { registriesConfigPath } from '../registry/configured-client.js';
import { stateRootPath } from '../state/state-root.js';
import { missingTool } from '../util/tool-runner.js';
import { inUserNamespace } from '../util/user-namespace.js';
import { findIdRange, type IdRange } from './id-ranges.js';
import { killStaleContainers } from './stale-containers.js';
import { checkRootlessPrerequisites, namespaceFailure, ROOTLESS_TOOLS, type Machine } from './preflight.js';
import { writeIdMaps, type IdMaps } from './write-id-maps.js';

/** How long making the namespace may take (it takes milliseconds). */
const ENTER_TIMEOUT_MS = 10_000;

/** Where the ranges are read from (`files` replaces them for tests and unusual systems). */
export interface RelaunchOptions {
  /** The command line to run again, as `process.argv` (node, script, arguments). */
  argv?: readonly string[];
  /** Aborting forwards SIGTERM to the inner command, which stops as Ctrl-C stops it. */
  signal?: AbortSignal;
  /** `--root` when the command gave one (else the user's default, fixed here, outside). */
  root?: string;
  /** The subordinate id files; default /etc/subuid and /etc/subgid. */
  files?: { subuid: string; subgid: string };
}

/**
 * True when this process must enter a user namespace to build: it is not root and not in one
 * already. `TSBUILD_ROOTLESS=0` turns it off (a caller that made the namespace itself, or one that
 * wants the copying snapshotter's limits instead).
 */
export function needsUserNamespace(env: NodeJS.ProcessEnv = process.env): boolean {
  return process.getuid?.() !== 0 && !inUserNamespace() && env.TSBUILD_ROOTLESS !== '0';
}

/** The machine as the checks see it. */
const machine: Machine = {
  read: (file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  onPath: (program) =>
    (process.env.PATH ?? '').split(':').some((dir) => {
      try {
        accessSync(path.join(dir || '.', program), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }),
};

/** The id maps for the user running this: own id → 0, the first subordinate range → 1… */
export function userNamespaceMaps(files = { subuid: '/etc/subuid', subgid: '/etc/subgid' }): { uids: IdRange; gids: IdRange } {
  const user = os.userInfo();
  const uids = findIdRange(machine.read(files.subuid), files.subuid, { name: user.username, id: user.uid }, 'uid');
  // A group range is found by the user's name (or uid), as newgidmap looks it up.
  const gids = findIdRange(machine.read(files.subgid), files.subgid, { name: user.username, id: user.uid }, 'gid');
  return { uids, gids };
}

/**
 * Runs the command again inside a new user and mount namespace and resolves to its exit status;
 * rejects, in one line, when the namespace cannot be made.
 */
export async function runInUserNamespace(options: RelaunchOptions = {}): Promise<number> {
  checkRootlessPrerequisites(machine);
  const { uids, gids } = userNamespaceMaps(options.files);
  const root = stateRootPath(options.root);
  // Only from out here can a killed build's steps be stopped (see stale-containers.ts).
  await killStaleContainers(root);
  // The same node, its flags, the script and the arguments.
  const [, ...rest] = options.argv ?? process.argv;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Decided out here: inside, uid 0 must not pick root's defaults.
    TSBUILD_ROOT: root,
    TSBUILD_REGISTRIES_CONFIG: registriesConfigPath(),
  };
  // Runtime files (the tool runner's directory) go where the user's runtime files go.
  if (env.TMPDIR === undefined && env.XDG_RUNTIME_DIR) env.TMPDIR = env.XDG_RUNTIME_DIR;
  const args = [
    '--user',
    '--mount',
    '--propagation=private',
    '--',
    '/bin/sh',
    '-c',
    INSIDE,
    'tsbuild-rootless',
    process.execPath,
    ...process.execArgv,
    ...rest,
  ];
  // stdin and stdout are the command's; stderr a pipe until the hand-over; 3 the real stderr; 4
  // the handshake (a socket pair: "ready" out, "mapped" in).
  const child = spawn('unshare', args, { stdio: ['inherit', 'inherit', 'pipe', process.stderr, 'pipe'], env });
  let early = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (early += text));
  const stderrClosed = new Promise<void>((resolve) => child.stderr?.once('close', resolve));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? missingTool('unshare', { purpose: ROOTLESS_TOOLS.unshare })
          : new FailedPreconditionError(`cannot run unshare: ${err.code ?? err.message}`),
      ),
    );
    child.once('exit', (c, s) => resolve([c, s]));
  });
  // Ctrl-C reaches both processes from the terminal; other stops are passed on.
  const onAbort = (): void => void child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const user = os.userInfo();
    const refused = await enter(child, { uid: user.uid, gid: user.gid, uids, gids }, exited, options.signal);
    if (refused !== undefined) {
      child.kill('SIGKILL');
      // Rejects when unshare could not be started at all (its own error).
      await exited;
      if (options.signal?.aborted) throw new CancelledError('cancelled before the user namespace was made');
      if (refused instanceof Error) throw refused;
      // What unshare printed before it exited (nothing else holds the pipe: bounded anyway).
      await Promise.race([stderrClosed, delay(1000)]);
      throw namespaceFailure(refused || early || 'unshare exited before making the namespace', machine);
    }
    const [code, signal] = await exited;
    return code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The shell inside: says it runs, waits for its maps, hands the real stderr over, becomes the command. */
const INSIDE = 'echo ready >&4 && read -r answer <&4 && [ "$answer" = mapped ] && exec 2>&3 3>&- 4>&- && exec setpriv --pdeathsig SIGKILL -- "$@"';

/**
 * The handshake: once the shell inside says it runs (unshare(2) worked), its namespace is mapped
 * from here and the shell told to go on. Resolves to undefined when it may go on, else to why not:
 * a text to explain ('' when unshare exited first: its stderr says why), or an error to report as
 * it is (a helper that is not installed, an abort).
 */
async function enter(
  child: ChildProcess,
  maps: IdMaps,
  exited: Promise<unknown>,
  signal: AbortSignal | undefined,
): Promise<string | Error | undefined> {
  const control = child.stdio[4] as Duplex;
  // A shell gone before "mapped" is written: its exit status says the rest.
  control.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const ready = await Promise.race([
    new Promise<'ready'>((resolve) => control.once('data', () => resolve('ready'))),
    exited.then(
      () => 'exited' as const,
      () => 'exited' as const,
    ),
    new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ENTER_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
  if (ready === 'exited') return '';
  if (ready === 'late') return `unshare did not create the namespace within ${ENTER_TIMEOUT_MS / 1000} s`;
  let refused: string | undefined;
  try {
    refused = await writeIdMaps(child.pid as number, maps, signal);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  if (refused !== undefined) return refused;
  control.end('mapped\n');
  return undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
