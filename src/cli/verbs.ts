/**
 * The verbs as the commands call them: each loads the library (`library.ts`) on its first call,
 * so the CLI starts without it (`tsbuild --version` reads the command line's own chunk alone).
 */
import type * as Library from './library.js';
import { loadLibrary } from './load-library.js';

type Verb = (...args: never[]) => Promise<unknown>;
type VerbName = {
  [K in keyof typeof Library]: (typeof Library)[K] extends Verb ? K : never;
}[keyof typeof Library];

/** `name`, as a function that loads the library on its first call. */
function onFirstCall<K extends VerbName>(name: K): (typeof Library)[K] {
  const call = async (...args: never[]): Promise<unknown> => ((await loadLibrary())[name] as Verb)(...args);
  return call as unknown as (typeof Library)[K];
}

export const build = onFirstCall('build');
export const loadPlan = onFirstCall('loadPlan');
export const checkDockerfile = onFirstCall('checkDockerfile');
export const outlineDockerfile = onFirstCall('outlineDockerfile');
export const dockerfileTargets = onFirstCall('dockerfileTargets');
export const pull = onFirstCall('pull');
export const pullAllPlatforms = onFirstCall('pullAllPlatforms');
export const push = onFirstCall('push');
export const load = onFirstCall('load');
export const listImages = onFirstCall('listImages');
export const tagImage = onFirstCall('tagImage');
export const removeImage = onFirstCall('removeImage');
export const inspectImage = onFirstCall('inspectImage');
export const imageHistory = onFirstCall('imageHistory');
export const saveImages = onFirstCall('saveImages');
export const login = onFirstCall('login');
export const logout = onFirstCall('logout');
export const usage = onFirstCall('usage');
export const pruneState = onFirstCall('pruneState');
