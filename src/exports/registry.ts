/** `tsbuild/registry`: references, the registry client and its configuration, pulling and pushing images. */
export { parseReference, formatReference, familiarName, type Reference } from '../registry/reference.js';
export { RegistryClient } from '../registry/client.js';
export { registryClient, registryHosts, registriesConfigPath, type RegistryOptions } from '../registry/configured-client.js';
export { RegistryError } from '../registry/registry-error.js';
export { RegistryHosts, type RegistryHostsConfig } from '../registry/hosts.js';
export { DockerCredentials, type Credentials } from '../registry/credentials.js';
export { resolveImage, type ResolvedImage } from '../registry/remote-image.js';
export { pullImage, type PullImageOptions, type PulledImage } from '../registry/pull-image.js';
export { pushImage, type PushImageOptions, type PushResult, type PushedImage } from '../registry/push-image.js';
export { BlobSources } from '../registry/blob-sources.js';
