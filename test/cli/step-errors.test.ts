/**
 * Issue 22: a failed RUN or a missing COPY source names the step, its stage and the Dockerfile
 * lines, in the shape buildx 0.29 prints (recorded from Docker Engine 28.5 + buildx 0.29.1 with
 * these Dockerfiles; BuildKit's output lines carry their elapsed time, `0.053 hello`, which tsbuild
 * leaves off). Through the real CLI, and on `ExecError` for library callers.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecError } from '../../src/runtime/exec-error.js';
import { build } from '../../src/verbs/build.js';
import { testRequest } from '../helpers/build.js';
import { tsbuild } from '../helpers/cli.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-step-errors-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

/** [what, Dockerfile lines after FROM's, stderr after the progress (FROM stands for the FROM line)] */
const cases: Array<[string, string, string]> = [
  [
    'a failing RUN in a named stage',
    'FROM BASE AS base\nRUN echo one\n\nFROM base AS build\nWORKDIR /app\nRUN echo hello >&2 && echo bad >&2 && exit 3\nRUN echo after\n',
    [
      '------',
      ' > [build 2/3] RUN echo hello >&2 && echo bad >&2 && exit 3:',
      'hello',
      'bad',
      '------',
      'Dockerfile:6',
      '--------------------',
      '   4 |     FROM base AS build',
      '   5 |     WORKDIR /app',
      '   6 | >>> RUN echo hello >&2 && echo bad >&2 && exit 3',
      '   7 |     RUN echo after',
      '   8 |     ',
      '--------------------',
      'ERROR: failed to build: failed to solve: process "/bin/sh -c echo hello >&2 && echo bad >&2 && exit 3" did not complete successfully: exit code: 3',
      '',
    ].join('\n'),
  ],
  [
    'a RUN over three lines',
    'FROM BASE\nENV A=1\nRUN echo start && \\\n    false && \\\n    echo never\nCMD ["sh"]\n',
    [
      '------',
      ' > [2/2] RUN echo start &&     false &&     echo never:',
      'start',
      '------',
      'Dockerfile:3',
      '--------------------',
      '   2 |     ENV A=1',
      '   3 | >>> RUN echo start && \\',
      '   4 | >>>     false && \\',
      '   5 | >>>     echo never',
      '   6 |     CMD ["sh"]',
      '--------------------',
      'ERROR: failed to build: failed to solve: process "/bin/sh -c echo start &&     false &&     echo never" did not complete successfully: exit code: 1',
      '',
    ].join('\n'),
  ],
  [
    // BuildKit's cause names its internal checksum ref: `failed to compute cache key: failed to
    // calculate checksum of ref …: "/missing.txt": not found`; the rest is the same.
    'a missing COPY source',
    'FROM BASE\nWORKDIR /app\nCOPY missing.txt /app/\nRUN echo x\n',
    [
      '------',
      ' > [3/4] COPY missing.txt /app/:',
      '------',
      'Dockerfile:3',
      '--------------------',
      '   1 |     FROM BASE',
      '   2 |     WORKDIR /app',
      '   3 | >>> COPY missing.txt /app/',
      '   4 |     RUN echo x',
      '   5 |     ',
      '--------------------',
      'ERROR: failed to build: failed to solve: "/missing.txt": not found',
      'check the path and .dockerignore: COPY reads from the root of the context or stage',
      '',
    ].join('\n'),
  ],
];

describe.skipIf(!isRoot || !registryAvailable)('a failed step names its Dockerfile line', () => {
  it.each(cases)('%s', (_what, dockerfile, expected) => {
    const base = `${busybox.registry().host}/busybox:1`;
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), dockerfile.replaceAll('BASE', base));
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const result = tsbuild(['--root', tempDir(), 'build', '--progress=plain', context], { env, timeout: 60_000 });
    expect(result.status).toBe(1);
    expect(result.stderr.slice(result.stderr.indexOf('------\n'))).toBe(expected.replaceAll('BASE', base));
  });

  it('ExecError carries the step, its stage and lines', async () => {
    const context = tempDir();
    writeFileSync(
      path.join(context, 'build.Dockerfile'),
      (cases[0] as [string, string, string])[1].replaceAll('BASE', `${busybox.registry().host}/busybox:1`),
    );
    const err = await build(testRequest({ context, root: tempDir() }, tempDir, { dockerfile: path.join(context, 'build.Dockerfile') })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExecError);
    const { excerpt, ...step } = (err as ExecError).step ?? { excerpt: '' };
    expect(step).toEqual({
      name: '[build 2/3] RUN echo hello >&2 && echo bad >&2 && exit 3',
      stage: 'build',
      file: path.join(context, 'build.Dockerfile'),
      line: 6,
      endLine: 6,
      output: ['hello', 'bad'],
    });
    expect(excerpt.split('\n')[0]).toBe(`${path.join(context, 'build.Dockerfile')}:6`);
  });
});
