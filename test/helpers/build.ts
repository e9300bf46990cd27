/** Build requests for tests: a context and state root, `app:1`, and no registry settings from the machine. */
import type { BuildRequest } from '../../src/verbs/build.js';

/** A request building `p.context` into `p.root` as `app:1`; `scratch()` gives an empty docker config dir. */
export function testRequest(p: { context: string; root: string }, scratch: () => string, extra: Partial<BuildRequest> = {}): BuildRequest {
  return {
    context: p.context,
    root: p.root,
    tags: ['app:1'],
    registriesConfig: '/nonexistent/registries.json',
    dockerConfig: scratch(),
    ...extra,
  };
}
