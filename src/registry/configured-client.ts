/**
 * A registry client set up the way a user set up their machine: registry hosts (mirrors, plain HTTP,
 * network settings) from the registries config file with the caller's additions on top, and
 * credentials from docker's config. Every verb that talks to registries takes `RegistryOptions`.
 */
import os from 'node:os';
import path from 'node:path';
import { RegistryClient } from './client.js';
import { DockerCredentials } from './credentials.js';
import { loadRegistryHostsConfig, mergeHostsConfig, RegistryHosts, type RegistryHostsConfig } from './hosts.js';
import { isHostRoot } from '../util/user-namespace.js';

/** How to reach registries; the same three fields for every verb. */
export interface RegistryOptions {
  /** Mirrors, insecure registries and network settings on top of the registries config file. */
  registries?: RegistryHostsConfig;
  /** The registries config file to read instead of the default (`registriesConfigPath`). */
  registriesConfig?: string;
  /** Docker's config directory for credentials (default `$DOCKER_CONFIG` or `~/.docker`). */
  dockerConfig?: string;
}

/** Just the registry fields of a request (they are passed on to what talks to registries). */
export function registryOptions(request: RegistryOptions): RegistryOptions {
  return {
    ...(request.registries ? { registries: request.registries } : {}),
    ...(request.registriesConfig ? { registriesConfig: request.registriesConfig } : {}),
    ...(request.dockerConfig ? { dockerConfig: request.dockerConfig } : {}),
  };
}

/** The registries config file: `$TSBUILD_REGISTRIES_CONFIG`, else the system or user config dir. */
export function registriesConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBUILD_REGISTRIES_CONFIG) return env.TSBUILD_REGISTRIES_CONFIG;
  if (isHostRoot()) return '/etc/tsbuild/registries.json';
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'tsbuild', 'registries.json');
}

/** Registry hosts from the config file, with the options' additions on top. */
export async function registryHosts(options: RegistryOptions = {}): Promise<RegistryHosts> {
  const file = options.registriesConfig ?? registriesConfigPath();
  return new RegistryHosts(mergeHostsConfig(await loadRegistryHostsConfig(file), options.registries ?? {}));
}

/** A registry client configured from the options' hosts and credentials. */
export async function registryClient(options: RegistryOptions = {}): Promise<RegistryClient> {
  return new RegistryClient({ hosts: await registryHosts(options), credentials: new DockerCredentials(options.dockerConfig) });
}
