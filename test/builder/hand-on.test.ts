/**
 * A step hands its committed snapshot on before its layer is written (`solve/step-resolver.ts`,
 * `ops/file-op.ts`): the next step starts meanwhile. What must not change: a step that succeeded is
 * recorded even when a later one fails while its layer is still being written (as in BuildKit,
 * whose steps are cached before their layers exist), and the image is the one made step by step.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent, StepEvent } from '../../src/progress/events.js';
import type { TsbuildError } from '../../src/errors.js';
import { build } from '../../src/verbs/build.js';
import { testRequest } from '../helpers/build.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-hand-on-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

describe.skipIf(!isRoot || !registryAvailable)('steps hand their snapshot on before their layer is written', () => {
  it('a RUN failing while the COPY before it writes a 384 MiB layer: the COPY is recorded, CACHED next time', async () => {
    const context = tempDir();
    const root = tempDir();
    const base = `${busybox.registry().host}/busybox:1`;
    // Big enough that the RUN fails before the layer is written (~1 s here); sparse, so quick to make.
    writeFileSync(path.join(context, 'big.bin'), '');
    truncateSync(path.join(context, 'big.bin'), 384 * 1024 * 1024);
    const dockerfile = (run: string): void => writeFileSync(path.join(context, 'Dockerfile'), `FROM ${base}\nCOPY big.bin /big.bin\nRUN ${run}\n`);
    const events: string[] = [];
    const progress = {
      emit: (e: ProgressEvent | StepEvent) => {
        if (e.type === 'step' && e.id !== 'export' && !e.name.includes(' FROM ')) events.push(`${e.name}:${e.status}`);
      },
    };
    dockerfile('exit 3');
    const failed = await build(testRequest({ context, root }, tempDir, { progress })).catch((err: unknown) => err);
    expect((failed as Error).message).toBe('process "/bin/sh -c exit 3" did not complete successfully: exit code: 3');
    // The RUN started when the COPY's snapshot was committed, before its layer was written.
    expect(events).toEqual([
      '[2/3] COPY big.bin /big.bin:started',
      '[2/3] COPY big.bin /big.bin:done',
      '[3/3] RUN exit 3:started',
      '[3/3] RUN exit 3:error',
    ]);
    dockerfile('test -s /big.bin');
    const again = await build(testRequest({ context, root }, tempDir));
    expect([again.cached, again.ran]).toEqual([1, 1]);
  });

  it('a layer that fails after its step handed on (a full disk) stops the build at once, naming that step', async () => {
    const context = tempDir();
    const base = `${busybox.registry().host}/busybox:1`;
    // 24 MiB fit once in a 40 MiB state root (the snapshot's copy), not twice (the layer too).
    writeFileSync(path.join(context, 'big.bin'), randomBytes(24 * 1024 * 1024));
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${base}\nCOPY big.bin /big.bin\nRUN sleep 20\n`);
    const root = path.join(tempDir(), 'root');
    mkdirSync(root);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', root]);
    try {
      const events: string[] = [];
      const progress = {
        emit: (e: ProgressEvent | StepEvent) => {
          if (e.type === 'step' && e.name.includes('RUN')) events.push(`${e.name}:${e.status}`);
        },
      };
      const failed = await build(testRequest({ context, root }, tempDir, { progress })).catch((err: unknown) => err);
      expect((failed as Error).message).toBe(`no space left on device writing the layer of [2/3] COPY big.bin /big.bin to ${root}`);
      expect((failed as TsbuildError).step?.name).toBe('[2/3] COPY big.bin /big.bin');
      // The RUN started on the committed snapshot and was stopped, not run to its end.
      expect(events).toEqual(['[3/3] RUN sleep 20:started', '[3/3] RUN sleep 20:error']);
    } finally {
      execFileSync('umount', [root]);
    }
  });
});
