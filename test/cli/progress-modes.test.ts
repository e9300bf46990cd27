/**
 * Issue 22: what the progress modes show for a failing build, through the real CLI. Plain: each
 * output line with its seconds since the step started (`#5 0.057 hello`, as BuildKit), and
 * `#N ERROR: <cause>`. JSON: the total up front (`plan`), the FROM of a base pulled by this (cold)
 * build started and done rather than cached, an `error` event for the failed step, the export phase
 * on success, and a final `result` event either way. A cold build's base layers: pulled, then
 * extracted (`<layer>: extracted in 0.1s`, BuildKit's `extracting`), each once per root.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-progress-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

function run(dockerfile: string, progress: string): { status: number | null; stderr: string } {
  const context = tempDir();
  writeFileSync(path.join(context, 'Dockerfile'), dockerfile.replace('BASE', `${busybox.registry().host}/busybox:1`));
  const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
  return tsbuild(['--root', tempDir(), 'build', `--progress=${progress}`, context], { env, timeout: 60_000 });
}

const failing = 'FROM BASE\nRUN echo hello && exit 3\n';

describe.skipIf(!isRoot || !registryAvailable)('progress modes through the CLI', () => {
  it('plain: output lines with elapsed seconds, then the ERROR line', () => {
    const result = run(failing, 'plain');
    expect(result.status).toBe(1);
    const step = result.stderr.split('\n').filter((l) => l.startsWith('#2 '));
    expect(step.map((l) => l.replace(/^#2 \d+\.\d{3} /, '#2 <t> '))).toEqual([
      '#2 [2/2] RUN echo hello && exit 3 (cache miss: not built before)',
      '#2 <t> hello',
      '#2 ERROR: process "/bin/sh -c echo hello && exit 3" did not complete successfully: exit code: 3',
    ]);
  });

  it('plain: a cold build pulls and extracts each base layer; a rebuild on the same root does neither', () => {
    const context = tempDir();
    const root = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN echo hello\n`);
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const layerLines = (): string[] => {
      const result = tsbuild(['--root', root, 'build', '--no-cache', '--progress=plain', context], { env, timeout: 60_000 });
      expect(result.status).toBe(0);
      return result.stderr.split('\n').filter((l) => /^[0-9a-f]{12}: /.test(l));
    };
    // The test image's two layers (a 137-byte one and busybox), each pulled before it is extracted.
    const byLayer = new Map<string, string[]>();
    for (const line of layerLines()) {
      const what = line.slice(14).replace(/\d+(\.\d+)?(B|MB|s)$/, '<n>$2');
      byLayer.set(line.slice(0, 12), [...(byLayer.get(line.slice(0, 12)) ?? []), what]);
    }
    expect([...byLayer.values()].sort()).toEqual([
      ['pulled <n>B', 'extracted in <n>s'],
      ['pulled <n>MB', 'extracted in <n>s'],
    ]);
    expect(layerLines()).toEqual([]);
  });

  it.each([
    [
      'a failed build',
      failing,
      1,
      [
        'plan 3',
        'started [1/2] FROM',
        'done [1/2] FROM',
        'started [2/2] RUN echo hello && exit 3',
        'error [2/2] RUN echo hello && exit 3',
        'result error',
      ],
    ],
    [
      'a build',
      'FROM BASE\nRUN echo hello\n',
      0,
      [
        'plan 3',
        'started [1/2] FROM',
        'done [1/2] FROM',
        'started [2/2] RUN echo hello',
        'done [2/2] RUN echo hello',
        'started exporting to image',
        'done exporting to image',
        'result id',
      ],
    ],
  ])('json: %s ends with a result event', (_what, dockerfile, status, expected) => {
    const result = run(dockerfile, 'json');
    expect(result.status).toBe(status);
    const events = result.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const shown = events
      .filter((e) => e.type === 'plan' || e.type === 'step' || e.type === 'result')
      .map((e) =>
        e.type === 'plan'
          ? `plan ${String(e.steps)}`
          : e.type === 'result'
            ? `result ${'error' in e ? 'error' : 'id'}`
            : `${String(e.status)} ${String(e.name).replace(/^\[1\/2\] FROM .*/, '[1/2] FROM')}`,
      );
    expect(shown).toEqual(expected);
    const last = events.at(-1) as Record<string, unknown>;
    if (status === 0) expect(last).toMatchObject({ type: 'result', ran: 1, cached: 0, id: expect.stringMatching(/^sha256:[a-f0-9]{64}$/) });
    else
      expect(last).toMatchObject({ type: 'result', error: 'process "/bin/sh -c echo hello && exit 3" did not complete successfully: exit code: 3' });
  });
});
