/**
 * Every `fixtures/lint` Dockerfile checked by tsbuild: `--call=check`, `outline` and `targets` must
 * print exactly what current BuildKit printed (recorded in the fixture), fail as it failed, and
 * with the same error. One Dockerfile per rule, with the cases that must not fire beside the ones
 * that must. Library calls, formatted as the command formats them (the CLI tests cover the command).
 */
import { describe, expect, it } from 'vitest';
import { checkDockerfile, dockerfileTargets, lintViolation, outlineDockerfile } from '../../src/verbs/check.js';
import { formatCheckReport } from '../../src/lint/format.js';
import { formatOutline } from '../../src/lint/outline.js';
import { formatTargets } from '../../src/lint/targets.js';
import { lintFixtures, type Call, type LintFixture, type Recorded } from '../helpers/lint-fixtures.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-lint-');

/** What `tsbuild build --call=<call>` prints on stdout, its exit status and error. */
async function tsbuildCall(call: Call, fixture: LintFixture): Promise<{ stdout: string } & Recorded> {
  const request = {
    context: fixture.dir,
    buildArgs: fixture.buildArgs,
    ...(fixture.target === undefined ? {} : { target: fixture.target }),
    root: tempDir(),
  };
  try {
    if (call === 'targets') return { stdout: formatTargets(await dockerfileTargets(request)), status: 0 };
    if (call === 'outline') {
      const { outline, check } = await outlineDockerfile(request);
      const violation = lintViolation(check);
      return violation ? { stdout: '', status: 1, error: violation.message } : { stdout: formatOutline(outline), status: 0 };
    }
    const result = await checkDockerfile(request);
    const violation = lintViolation(result);
    const error = result.error ?? violation;
    const stdout = formatCheckReport(result.warnings, result.file, result.source, error !== undefined);
    return { stdout, status: error || result.warnings.length > 0 ? 1 : 0, ...(error ? { error: error.message } : {}) };
  } catch (err) {
    return { stdout: '', status: 1, error: (err as Error).message };
  }
}

const fixtures = lintFixtures();

describe('fixtures/lint', () => {
  it('has a recorded BuildKit result for every fixture and call', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
    for (const fixture of fixtures) expect(Object.keys(fixture.expected).sort(), fixture.name).toEqual(['check', 'outline', 'targets']);
  });

  it.each(fixtures.flatMap((f) => (['check', 'outline', 'targets'] as const).map((call) => [`${f.name} --call=${call}`, f, call] as const)))(
    '%s prints what BuildKit printed',
    async (_name, fixture, call) => {
      expect(await tsbuildCall(call, fixture)).toEqual(fixture.expected[call]);
    },
  );
});
