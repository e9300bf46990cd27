/**
 * slirp4netns attached to a namespace file: the user-mode TCP/IP stack that gives a RUN step its
 * way out. It creates a tap device (`eth0`, 10.0.2.100/24, gateway 10.0.2.2, DNS forwarder
 * 10.0.2.3: rootlesskit's and BuildKit's rootless addresses) in the namespace and turns the
 * step's packets into ordinary sockets of the host's namespace. So the step reaches what the host
 * reaches, except the host's loopback: `--disable-host-loopback` refuses connections to the
 * gateway (which slirp would otherwise map to the host's 127.0.0.1) and to any 127.0.0.0/8 address
 * ("Network is unreachable").
 *
 * The process must never outlive tsbuild. `--exit-fd` hands it one end of a socket pair whose
 * other end only tsbuild holds (Node opens every descriptor close-on-exec, so no runc or tool
 * inherits it): however tsbuild ends, SIGKILL included, the kernel closes that end and slirp4netns
 * sees the hang-up and exits. `--ready-fd` says when the interface is configured. It runs in its
 * own process group (a Ctrl-C reaches tsbuild, which then stops it in order) and sandboxed
 * (`--enable-sandbox`: an empty root with only /etc and /run, capabilities dropped;
 * `--enable-seccomp`: a system call filter). Its output goes to `slirp.log` beside the namespace
 * file, where a failure's cause is read from.
 *
 * The sandbox needs a mount namespace of its own that shares nothing with the host's. It unshares
 * one, pivots into an empty root and detaches the old root with everything below it; run from the
 * host's namespace as root, its copy of every shared mount (Docker's data root, `/` itself on a
 * systemd host) is a peer of the host's, and that detach unmounts the host's mounts below them
 * (a concurrent `docker build` then fails with "stat /bin/sh: no such file or directory"). So it
 * starts under `unshare --mount --propagation private`, whose copies propagate nothing back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FailedPreconditionError, TsbuildError, UnavailableError } from '../errors.js';
import { missingTool } from '../util/tool-runner.js';
import type { NamespaceFile } from './namespace-file.js';

/** The interface slirp4netns creates in the namespace. */
export const SLIRP_INTERFACE = 'eth0';
/** rootlesskit's MTU for slirp4netns: large segments cut the per-packet cost of the user-mode stack. */
export const SLIRP_MTU = 65520;
/** How long slirp4netns may take to configure the namespace (it takes milliseconds). */
const READY_TIMEOUT_MS = 10_000;

export interface SlirpOptions {
  /**
   * The command starting slirp4netns, before its arguments: `['slirp4netns']` by default, a path
   * to another build, or a wrapper that ends by exec'ing it (the descriptors 3 and 4 must reach it).
   */
  command?: readonly string[];
}

/** A running slirp4netns. */
export interface SlirpProcess {
  readonly pid: number;
  /** Kills it and waits until it is gone (its hold on the namespace with it). */
  stop(): Promise<void>;
}

/** Starts slirp4netns on `ns` and resolves once the namespace's interface is up. */
export async function startSlirp(ns: NamespaceFile, options: SlirpOptions = {}, signal?: AbortSignal): Promise<SlirpProcess> {
  signal?.throwIfAborted();
  const [program = 'slirp4netns', ...prefix] = options.command ?? ['slirp4netns'];
  const args = [
    // A private mount namespace for the sandbox (see above); unshare execs the program in it.
    '--mount',
    '--propagation=private',
    '--',
    program,
    ...prefix,
    '--configure',
    `--mtu=${SLIRP_MTU}`,
    '--disable-host-loopback',
    '--enable-sandbox',
    '--enable-seccomp',
    '--exit-fd=3',
    '--ready-fd=4',
    '--netns-type=path',
    ns.path,
    SLIRP_INTERFACE,
  ];
  const logFile = path.join(ns.dir, 'slirp.log');
  const log = openSync(logFile, 'w', 0o600);
  let child: ChildProcess;
  try {
    child = spawn('unshare', args, { stdio: ['ignore', log, log, 'pipe', 'pipe'], detached: true });
  } finally {
    closeSync(log);
  }
  // 'exit', not 'close': the exit descriptor is never read, so its stream would never end.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = { child, exited, program };
  const failure = await whenReady(running, logFile, signal);
  if (failure !== undefined) {
    await kill(running);
    // An abort fails with the signal's reason, whatever it is, as `fetch` does.
    throw failure.reason;
  }
  // Idle, it must not keep tsbuild running: tsbuild's exit is what ends it.
  for (const handle of [child, child.stdio[3], child.stdio[4]] as Array<{ unref?: () => void } | null>) handle?.unref?.();
  return { pid: child.pid ?? 0, stop: () => kill(running) };
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  program: string;
}

/**
 * Waits for slirp4netns's byte on the ready descriptor: undefined then, or why it will not come
 * (its exit, a spawn error, an abort, the timeout).
 */
function whenReady({ child, program }: Running, logFile: string, signal: AbortSignal | undefined): Promise<{ reason: unknown } | undefined> {
  return new Promise((resolve) => {
    const ready = child.stdio[4] as Readable;
    const timer = setTimeout(
      () => fail(new UnavailableError(`${program} did not configure the network namespace within ${READY_TIMEOUT_MS / 1000} s`)),
      READY_TIMEOUT_MS,
    );
    const onAbort = (): void => finish({ reason: signal?.reason });
    const onData = (): void => finish(undefined);
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(err.code === 'ENOENT' ? missingTool('unshare') : new FailedPreconditionError(`cannot run unshare: ${err.message}`));
    const onExit = (code: number | null, killedBy: NodeJS.Signals | null): void => {
      const last = lastLine(logFile);
      // unshare's own words when it cannot exec the program (exit status 127).
      if (code === 127 && /^unshare: failed to execute .*No such file or directory$/.test(last)) {
        fail(
          new FailedPreconditionError(`${program} is not installed (not found on PATH)`, {
            hint: 'RUN --network=default needs it: apt-get install slirp4netns',
          }),
        );
        return;
      }
      // The tap device's file: a rootless build opens it as the user (Debian's udev makes it 0666).
      const tun = tunFailure(logFile);
      if (tun !== undefined) {
        fail(
          new UnavailableError(`${program} cannot open the tap device: ${tun}`, {
            hint: 'RUN --network=default needs /dev/net/tun readable and writable by the user building (crw-rw-rw-); or use --network=none',
          }),
        );
        return;
      }
      fail(new UnavailableError(`${program} failed to set up the network namespace (${exitText(code, killedBy)}): ${last}`));
    };
    const fail = (reason: TsbuildError): void => finish({ reason });
    function finish(outcome: { reason: unknown } | undefined): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ready.off('data', onData);
      child.off('error', onError);
      child.off('exit', onExit);
      resolve(outcome);
    }
    ready.once('data', onData);
    child.once('error', onError);
    child.once('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function kill({ child, exited }: Running): Promise<void> {
  // Waiting for it must keep tsbuild running, unlike an idle slirp4netns.
  child.ref();
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
  // A process that never started has nothing to wait for.
  if (child.pid !== undefined) await exited;
}

function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit status ${code ?? '?'}`;
}

/** slirp4netns's line about /dev/net/tun, when opening it is what failed. */
function tunFailure(logFile: string): string | undefined {
  try {
    return /^open\("\/dev\/net\/tun"\): .*$/m.exec(readFileSync(logFile, 'utf8'))?.[0];
  } catch {
    return undefined;
  }
}

const BANNER = [/^WARNING: Support for seccomp is experimental/, /^(sent|received) tapfd=/, /^Starting slirp$/, /^\* [A-Za-z ]+:/];

/**
 * The last meaningful line slirp4netns wrote, for the one-line error: its start-up banner (the
 * tap handshake, `Starting slirp`, the `* MTU:`… table) is skipped, as it can follow the cause
 * (`cannot make mount propagation slave /run`).
 */
function lastLine(logFile: string): string {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    // No log: the line below says so.
  }
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !BANNER.some((pattern) => pattern.test(line)));
  return lines.at(-1) ?? 'no output';
}
