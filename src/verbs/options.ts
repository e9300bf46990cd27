/** The options every verb shares (re-exported for the verbs and the public API). */
export type { CommonOptions } from '../state/common-options.js';
export { registryOptions, type RegistryOptions } from '../registry/configured-client.js';
