/**
 * Runs current BuildKit (Docker Engine 28 + buildx, started by `../shared/tools/modern-buildkit.sh`)
 * on every `fixtures/lint` Dockerfile and checks that what it prints for `--call=check`, `outline`
 * and `targets` is what the fixtures recorded — and so what tsbuild is tested to print
 * (`fixtures.test.ts`). `UPDATE_LINT_FIXTURES=1` records them instead.
 *
 *   eval "$(../shared/tools/modern-buildkit.sh)" && npx vitest run test/lint/buildkit-compare.test.ts
 */
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bareError, CALLS, lintFixtures, type Call, type Recorded } from '../helpers/lint-fixtures.js';

const execFileAsync = promisify(execFile);
const update = process.env.UPDATE_LINT_FIXTURES === '1';

/** Why BuildKit cannot be asked, or undefined when it can. */
function unavailable(): string | undefined {
  if (!process.env.DOCKER_HOST) return 'DOCKER_HOST is not set (eval "$(../shared/tools/modern-buildkit.sh)" starts current BuildKit)';
  const version = spawnSync('docker', ['buildx', 'version'], { encoding: 'utf8' });
  if (version.status !== 0) return `docker buildx is not usable: ${(version.stderr || version.error?.message || '').trim()}`;
  return undefined;
}

const reason = unavailable();
if (reason) console.log(`skipping the BuildKit comparison: ${reason}`);

async function buildkit(call: Call, args: string[], cwd: string): Promise<{ stdout: string } & Recorded> {
  const result = await execFileAsync('docker', ['buildx', 'build', `--call=${call}`, ...args, '.'], { cwd, encoding: 'utf8' }).then(
    ({ stdout }) => ({ stdout, stderr: '', status: 0 }),
    (err: { stdout: string; stderr: string; code: number }) => ({ stdout: err.stdout, stderr: err.stderr, status: err.code }),
  );
  const error = result.stderr.split('\n').find((l) => l.startsWith('ERROR: '));
  return { stdout: result.stdout, status: result.status, ...(error ? { error: bareError(error) } : {}) };
}

describe.skipIf(reason !== undefined)('fixtures/lint against current BuildKit', () => {
  it.each(lintFixtures().map((f) => [f.name, f] as const))(
    '%s',
    async (_name, fixture) => {
      const results = await Promise.all(CALLS.map((call) => buildkit(call, fixture.args, fixture.dir)));
      if (update) {
        const statuses = Object.fromEntries(
          CALLS.map((call, i) => [call, { status: results[i]?.status, ...(results[i]?.error ? { error: results[i]?.error } : {}) }]),
        );
        CALLS.forEach((call, i) => writeFileSync(path.join(fixture.dir, `${call}.txt`), results[i]?.stdout ?? ''));
        writeFileSync(path.join(fixture.dir, 'status.json'), `${JSON.stringify(statuses, null, 2)}\n`);
        return;
      }
      CALLS.forEach((call, i) => expect(results[i], `${fixture.name} --call=${call}`).toEqual(fixture.expected[call]));
    },
    60_000,
  );
});
