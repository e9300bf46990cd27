/**
 * `tsbuild/options`: the command line's value syntax, parsed into the verbs' option values, for a
 * program that takes the same strings a user gives `tsbuild build` (or `docker buildx build`):
 * `-o type=oci,dest=x.tar`, `--cache-to type=local,dest=dir`, `--ssh default`, `--ulimit
 * nofile=1024`. Each throws an `InvalidArgumentError` naming the flag. A program that builds its
 * options as objects needs none of them.
 */
export { parseOutput, buildOutputs, parseAnnotation, type OutputSpec, type ImageOutputOptions } from '../export/output-spec.js';
export { parseCacheSpec, type CacheSpec, type CacheMode } from '../cache/cache-spec.js';
export { parseSsh, type SshSpec } from '../builder/ssh-agents.js';
export { parseNetworkMode, parseEntitlements, parseHostEntry, parseByteSize, parseUlimit } from '../builder/sandbox-options.js';
export type { Entitlement } from '../builder/entitlements.js';
export type { NetworkMode } from '../network/network.js';
export type { HostEntry } from '../runtime/executor.js';
export type { Ulimit } from '../runtime/oci-spec.js';
