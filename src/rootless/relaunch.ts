/**
 * Rootless builds: an unprivileged user's tsbuild runs the command again inside a user namespace
 * of its own, mapped from the user's subordinate ranges (`id-ranges.ts`), with a mount namespace
 * beside it. There it is root: overlay mounts (the kernel allows them in a user namespace since
 * 5.11), `chown` to any mapped id, runc, network namespaces, all work as for the host's root, and
 * each id in a layer is a real owner on disk (image uid 1000 is host uid START+999), so the layers
 * are the same as root's. This is rootlesskit's and podman's design without a daemon: the
 * namespace lives exactly as long as the command.
 *
 * The chain is `unshare` (util-linux; it runs `newuidmap`/`newgidmap` for the mapping) → `sh`,
 * which hands the real stderr back to the command → `setpriv --pdeathsig SIGKILL` → node with the
 * same arguments. Until the shell's redirection, stderr is a pipe read here, so a namespace that
 * cannot be made is one line of ours, not unshare's words; after it, the command writes to the
 * terminal itself (the live progress view needs a TTY). The parent-death signal ends the inner
 * command if this process is killed (SIGKILL included); when the inner one ends, its mount
 * namespace and every mount in it go with it, which is what the next command's reclaim relies on.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TsbuildError } from '../errors.js';
import { registriesConfigPath } from '../registry/configured-client.js';
import { stateRootPath } from '../state/state-root.js';
import { inUserNamespace } from '../util/user-namespace.js';
import { findIdRange, type IdRange } from './id-ranges.js';
import { killStaleContainers } from './stale-containers.js';
import { checkRootlessPrerequisites, namespaceFailure, type Machine } from './preflight.js';

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
    '--map-root-user',
    `--map-users=${uids.start},1,${uids.count}`,
    `--map-groups=${gids.start},1,${gids.count}`,
    '--mount',
    '--propagation=private',
    '--',
    '/bin/sh',
    '-c',
    'exec 2>&3 3>&-; exec setpriv --pdeathsig SIGKILL -- "$@"',
    'tsbuild-rootless',
    process.execPath,
    ...process.execArgv,
    ...rest,
  ];
  const child = spawn('unshare', args, { stdio: ['inherit', 'inherit', 'pipe', process.stderr], env });
  let early = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    early += text;
  });
  // The pipe ends when the shell hands stderr over, that is once the namespace exists. unshare
  // 2.38 never returns when unshare(2) is refused under a seccomp filter (Docker's default one)
  // while its helper waits to run newuidmap: without the hand-over in time, it is killed.
  let entered = false;
  child.stderr?.once('end', () => (entered = true));
  const timer = setTimeout(() => {
    if (!entered) {
      early ||= `unshare did not create the namespace within ${ENTER_TIMEOUT_MS / 1000} s`;
      // Its helper (a fork waiting to run newuidmap) first, which would otherwise wait forever.
      for (const pid of childrenOf(child.pid)) process.kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
    }
  }, ENTER_TIMEOUT_MS);
  // Ctrl-C reaches both processes from the terminal; other stops are passed on.
  const onAbort = (): void => void child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(new TsbuildError('unavailable', `cannot run unshare: ${err.code ?? err.message}`, { hint: 'install it: apt-get install util-linux' })),
      );
      child.once('close', (c, s) => resolve([c, s]));
    });
    if (!entered || (early.trim() !== '' && code !== 0)) throw namespaceFailure(early, machine);
    return code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The pids of `pid`'s children (none when it is gone). */
function childrenOf(pid: number | undefined): number[] {
  const text = pid === undefined ? undefined : machine.read(`/proc/${pid}/task/${pid}/children`);
  return (text ?? '')
    .split(' ')
    .filter((word) => /^\d+$/.test(word))
    .map(Number);
}
