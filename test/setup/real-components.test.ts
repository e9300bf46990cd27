/** The CI guard finds each missing component by name, and nothing on this machine's full PATH. */
import { describe, expect, it } from 'vitest';
import { isRoot } from '../helpers/root.js';
import { missingComponents, REAL_COMPONENTS } from './real-components.js';

describe('the CI guard of real components', () => {
  it('names every command, with its package, when PATH has none of them', () => {
    expect(missingComponents({ PATH: '/nonexistent' }, false).filter((m) => !m.startsWith('root'))).toEqual(
      REAL_COMPONENTS.map(([command, pkg]) => `${command} (apt-get install ${pkg})`),
    );
  });

  it.skipIf(process.env.CI !== 'true' && !isRoot)('finds nothing missing on a machine set up by .ci/run', () => {
    expect(missingComponents(process.env, false)).toEqual([]);
  });
});
