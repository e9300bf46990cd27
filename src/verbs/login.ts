/**
 * `login` / `logout`: check credentials against a registry (answering its Basic or Bearer
 * challenge), then keep them where the docker CLI keeps them, so both tools share logins.
 */
import { InvalidArgumentError } from '../errors.js';
import { transportSettings } from '../registry/client.js';
import { DockerCredentials, type Credentials } from '../registry/credentials.js';
import { DOCKER_HUB } from '../registry/reference.js';
import { registryError } from '../registry/registry-error.js';
import { RegistryTransport } from '../registry/transport.js';
import { registryHosts, type RegistryOptions } from '../registry/configured-client.js';

/** Options of login (logout needs only `dockerConfig`). */
export interface LoginOptions extends RegistryOptions {
  signal?: AbortSignal;
}

/** Normalises what users type as a server (`https://index.docker.io/v1/`, `localhost:5000`). */
export function loginHost(server: string | undefined): string {
  if (!server) return DOCKER_HUB;
  const bare = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return bare === 'index.docker.io' || bare === 'registry-1.docker.io' ? DOCKER_HUB : bare;
}

/** Verifies `credentials` with the registry at `server`, then stores them. Returns the host. */
export async function login(server: string | undefined, credentials: Credentials, options: LoginOptions = {}): Promise<string> {
  const host = loginHost(server);
  if (!credentials.username || !credentials.password) throw new InvalidArgumentError('login needs a username and a password');
  const hosts = await registryHosts(options);
  const endpoint = hosts.endpoint(host);
  const transport = new RegistryTransport(endpoint.base, host, {
    ...transportSettings(hosts.network),
    credentials: { get: async () => credentials },
    retries: 1,
  });
  const response = await transport.fetch({ method: 'GET', path: '/v2/', ...(options.signal ? { signal: options.signal } : {}) });
  const body = await response.text();
  if (!response.ok) throw registryError(response, body, { method: 'GET', url: `${endpoint.base}/v2/` }, `user ${credentials.username} at ${host}`);
  await new DockerCredentials(options.dockerConfig).store(host, credentials);
  return host;
}

/** Forgets the credentials for `server`; false when there were none. */
export async function logout(
  server: string | undefined,
  options: Pick<LoginOptions, 'dockerConfig'> = {},
): Promise<{ host: string; removed: boolean }> {
  const host = loginHost(server);
  return { host, removed: await new DockerCredentials(options.dockerConfig).erase(host) };
}
