/**
 * The executor contract (BuildKit's `Executor`): run one process in a fresh container over a root
 * filesystem, stream its output, and stop it when asked. `RuncExecutor` is the implementation; a
 * rootless or remote executor drops in behind the same three types.
 */
import type { Mount } from '../snapshot/snapshotter.js';
import type { ContainerMount, NetworkNamespace, ProcessSpec, RuntimeSpecOptions } from './oci-spec.js';

/** How a process ended. */
export interface ExitStatus {
  exitCode: number;
  /** The signal that killed it, if any (`SIGKILL`). */
  signal?: string;
  /** The last bytes of stdout and stderr together. */
  tail: string;
}

/** The network a process runs in (`network/network.ts` prepares one per step). */
export interface ProcessNetwork {
  readonly namespace: NetworkNamespace;
  /** What /etc/resolv.conf says in the container. */
  readonly resolvConf: string;
}

/** An `/etc/hosts` line of the container's besides localhost (`--add-host`). */
export interface HostEntry {
  name: string;
  address: string;
}

/** Where and how the process runs. */
export interface ExecOptions extends Omit<RuntimeSpecOptions, 'rootfs' | 'mounts' | 'networkNamespace'> {
  network: ProcessNetwork;
  /** Extra /etc/hosts entries. */
  extraHosts?: readonly HostEntry[];
  /** The snapshot mounts that form the root filesystem, or a directory already showing it. */
  rootfs: Mount[] | string;
  mounts?: ContainerMount[];
  /**
   * Receives output chunks as they arrive. Each stream keeps its order; between stdout and stderr
   * only arrival orders them (runc copies each through its own pipe, as BuildKit's runs do), so
   * lines written to both within a moment may come in either order.
   */
  output?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Aborting kills the process; `run` then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface Executor {
  /** Runs `process` to completion and reports how it ended; nothing of the container outlives it. */
  run(process: ProcessSpec, options: ExecOptions): Promise<ExitStatus>;
}
