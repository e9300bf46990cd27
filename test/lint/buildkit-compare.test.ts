/**
 * Runs current BuildKit (Docker Engine 28 + buildx, started by `../shared/tools/modern-buildkit.sh`)
 * on every `fixtures/lint` Dockerfile and checks that what it prints for `--call=check`, `outline`
 * and `targets` is what the fixtures recorded — and so what tsbuild is tested to print
 * (`fixtures.test.ts`). `UPDATE_LINT_FIXTURES=1` records them instead.
 *
 *   eval "$(../shared/tools/modern-buildkit.sh)" && npx vitest run test/lint/buildkit-compare.test.ts
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDockerfile } from '../../src/verbs/check.js';
import { formatCheckReport } from '../../src/lint/format.js';
import { bareError, CALLS, lintFixtures, type Call, type Recorded } from '../helpers/lint-fixtures.js';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { useTempDirs } from '../helpers/tmp.js';
import { referenceHost } from '../helpers/buildkit.js';

const execFileAsync = promisify(execFile);
const update = process.env.UPDATE_LINT_FIXTURES === '1';

/** Why BuildKit cannot be asked, or undefined when it can (its DOCKER_HOST is then set for `docker`). */
function unavailable(): string | undefined {
  const reference = referenceHost();
  if (!reference.host) return reference.reason;
  process.env.DOCKER_HOST = reference.host;
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

/**
 * What base images bring cannot be a recorded fixture (the registry's port changes), so BuildKit
 * and tsbuild check the same Dockerfile against the same local registry here: ENV names, SHELL,
 * ONBUILD triggers and an image for another platform.
 */
describe.skipIf(reason !== undefined || !registryAvailable)('base images against current BuildKit', () => {
  const tempDir = useTempDirs('tsbuild-lint-bases-');
  let registry: TestRegistry | undefined;
  let layouts: string | undefined;
  beforeAll(async () => {
    layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-lint-layouts-'));
    registry = await startRegistry();
    await writeBusyboxLayout(path.join(layouts, 'env'), 'env', ['linux/amd64'], 'oci', {
      config: {
        Env: ['PATH=/bin', 'HOME=/root', 'APP_HOME=/srv/app'],
        Shell: ['/bin/sh', '-e', '-c'],
        OnBuild: ['ENV FROM_TRIGGER=$NOT_IN_THE_BASE', 'CMD echo from the trigger'],
      },
    });
    await writeBusyboxLayout(path.join(layouts, 'arm64'), 'arm64', ['linux/arm64']);
    await skopeoPush(path.join(layouts, 'env'), 'env', `${registry.host}/busybox:env`);
    await skopeoPush(path.join(layouts, 'arm64'), 'arm64', `${registry.host}/busybox:arm64`);
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    if (layouts) rmSync(layouts, { recursive: true, force: true });
  });

  it('reads ENV, SHELL and ONBUILD of the base and checks its platform as BuildKit does', async () => {
    const host = registry?.host ?? '';
    const context = tempDir();
    writeFileSync(
      path.join(context, 'Dockerfile'),
      [
        `FROM ${host}/busybox:arm64 AS other`,
        'ENV C=$APP_HOME',
        // The default target: its base's ONBUILD triggers run (a stage no target needs runs none).
        `FROM ${host}/busybox:env`,
        'ENV A=$HOME B=$HOM',
        'WORKDIR $APP_HOME',
        'CMD echo with the base image shell',
        '',
      ].join('\n'),
    );
    const expected = await buildkit('check', ['--platform=linux/amd64'], context);
    const result = await checkDockerfile({ context, platform: 'linux/amd64', root: tempDir() });
    expect(result.unresolved).toEqual([]);
    const ours = formatCheckReport(result.warnings, result.file, result.source, result.error !== undefined);
    expect(ours).toBe(expected.stdout);
    expect(result.warnings.map((w) => `${w.rule} ${w.location.start}: ${w.message}`)).toEqual([
      `InvalidBaseImagePlatform 1: Base image ${host}/busybox:arm64 was pulled with platform "linux/arm64", expected "linux/amd64" for current build`,
      "UndefinedVar 2: Usage of undefined variable '$APP_HOME'",
      "UndefinedVar 3: Usage of undefined variable '$NOT_IN_THE_BASE'",
      'MultipleInstructionsDisallowed 3: Multiple CMD instructions should not be used in the same stage because only the last one will be used',
      "UndefinedVar 4: Usage of undefined variable '$HOM' (did you mean $HOME?)",
    ]);
  }, 60_000);
});
