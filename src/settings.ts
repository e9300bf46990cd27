/**
 * Where tsbuild keeps its state and reads its registry settings, following the and docker's
 * conventions: `--root` / `$TSBUILD_ROOT`, else `/var/lib/tsbuild` for root and
 * `$XDG_DATA_HOME/tsbuild` (`~/.local/share/tsbuild`) for anyone else.
 */
import os from 'node:os';
import path from 'node:path';
import { platformOf, type Platform } from './image/platform.js';
import { loadRegistryHostsConfig, mergeHostsConfig, RegistryHosts, type RegistryHostsConfig } from './registry/hosts.js';

/** The state root. */
export function stateRoot(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return path.resolve(explicit);
  if (env.TSBUILD_ROOT) return path.resolve(env.TSBUILD_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'tsbuild');
}

/** The registries config file: `$TSBUILD_REGISTRIES_CONFIG`, else the system or user config dir. */
export function registriesConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBUILD_REGISTRIES_CONFIG) return env.TSBUILD_REGISTRIES_CONFIG;
  if (process.getuid?.() === 0) return '/etc/tsbuild/registries.json';
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'tsbuild', 'registries.json');
}

/** Registry hosts from the config file (or `file`), with `extra` (from flags) on top. */
export async function registryHosts(extra: RegistryHostsConfig = {}, file = registriesConfigPath()): Promise<RegistryHosts> {
  return new RegistryHosts(mergeHostsConfig(await loadRegistryHostsConfig(file), extra));
}

/** The platform this process runs on. */
export function hostPlatform(): Platform {
  return platformOf(os.platform(), os.arch());
}
