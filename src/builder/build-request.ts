/** What `build` takes and gives (the library's `BuildRequest` and `BuildResult`). */
import type { Readable } from 'node:stream';
import type { CacheSpec } from '../cache/cache-spec.js';
import type { Digest } from '../digest/digest.js';
import type { OutputResult } from '../export/write-outputs.js';
import type { OutputSpec } from '../export/output-spec.js';
import type { NetworkMode } from '../network/network.js';
import type { BuildPlan } from '../plan/types.js';
import type { HostEntry } from '../runtime/executor.js';
import type { Ulimit } from '../runtime/oci-spec.js';
import type { Entitlement } from './entitlements.js';
import type { SshSpec } from './ssh-agents.js';
import type { RegistryOptions } from '../registry/configured-client.js';
import type { CommonOptions } from '../state/common-options.js';

/** What to build. */
export interface BuildRequest extends CommonOptions, RegistryOptions {
  /**
   * The build context: a directory, `-` (a tar archive, or a Dockerfile alone, on `stdin`), a git
   * repository (`https://host/repo.git#ref:subdir`, `git://…`, `git@host:repo`) or an archive URL
   * (`builder/context-input.ts`).
   */
  context: string;
  /** The Dockerfile (default: `Dockerfile`, then `dockerfile`, in the context; `-`: read from `stdin`). */
  dockerfile?: string;
  /** Where `-` reads from (default: the process's stdin). */
  stdin?: Readable;
  /**
   * Named contexts (`--build-context NAME=SOURCE`), by name: `docker-image://REF`,
   * `oci-layout://DIR[:TAG|@DIGEST]`, a directory, a git repository or an `https://` URL
   * (`builder/named-contexts.ts`).
   */
  buildContexts?: Record<string, string>;
  target?: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  /**
   * The target platform (`linux/arm64`), a comma-separated list of them, or a list; the host's when
   * absent. Several platforms build one image each under an image index.
   */
  platform?: string | readonly string[];
  /** Names for the image (`-t`). */
  tags?: string[];
  /** Where the image goes (`-o`); default: the local image store under the `-t` names. */
  outputs?: OutputSpec[];
  /** Run every step again (`--no-cache`). */
  noCache?: boolean;
  /** Run the steps of these stages again (`--no-cache-filter`). */
  noCacheFilter?: string[];
  /** Resolve base images in their registries even when stored locally (`--pull`). */
  pull?: boolean;
  /** Export the steps of this build (`--cache-to`); a string is a local cache directory. */
  cacheTo?: CacheSpec | string;
  /** Import steps (`--cache-from`); a string is a local cache directory. */
  cacheFrom?: Array<CacheSpec | string>;
  /** Secret values by id (`--secret`), for `RUN --mount=type=secret`. */
  secrets?: Record<string, Buffer>;
  /** SSH agents for `RUN --mount=type=ssh`, by id (`--ssh default`, `--ssh ID=SOCKET|KEY`). */
  ssh?: SshSpec[];
  /**
   * The network RUN steps get unless they name one (`--network`): `default`, a namespace of the
   * step's own with a route to the outside world and none to the host; `none`, only loopback;
   * `host`, the host's own (which grants `network.host`).
   */
  network?: NetworkMode;
  /** Entitlements granted to the build (`--allow`): `network.host`, `security.insecure`. */
  allow?: Entitlement[];
  /** Extra /etc/hosts entries of every RUN (`--add-host NAME=IP`). */
  addHosts?: HostEntry[];
  /** The size of /dev/shm in bytes (`--shm-size`). */
  shmSize?: number;
  /** Resource limits of every RUN (`--ulimit nofile=1024:2048`). */
  ulimits?: Ulimit[];
  /**
   * Steps run at once across stages (default: twice the CPU count, at least 4). Steps mostly wait
   * on their processes and disks rather than use a core each; BuildKit does not bound them at all.
   */
  jobs?: number;
}

export interface BuildResult {
  /**
   * The image manifest digest, or with several platforms the index's (of the first image output's
   * variant, when there is one).
   */
  digest: Digest;
  /** The platforms built, in the order of the index. */
  platforms: string[];
  /** What each output wrote. */
  outputs: OutputResult[];
  /** The config digest (image id); with several platforms, the first platform's. */
  config: Digest;
  tags: string[];
  /** The plan (with several platforms, the first platform's). */
  plan: BuildPlan;
  /** The commit a git context was checked out at. */
  contextCommit?: string;
  /** Steps run and steps taken from the cache. */
  ran: number;
  cached: number;
}
