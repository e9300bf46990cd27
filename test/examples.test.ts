/**
 * The examples the README points at run as written: the library example builds examples/hello
 * through the package's own entry points (`tsbuild`, `tsbuild/dockerfile`, `tsbuild/plan`);
 * `npm run example` (examples/run-example.mjs) makes a busybox base from the machine's static
 * busybox, builds examples/app on it with RUN, and runs the image's command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isRoot } from './helpers/root.js';
import { projectRoot } from './helpers/shared.js';
import { useTempDirs } from './helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-examples-');

interface Descriptor {
  digest: string;
}

describe.skipIf(!isRoot)('examples', () => {
  it('examples/library/build-hello.mjs plans, builds and writes an OCI layout with the greeting', () => {
    const work = tempDir();
    const dest = path.join(work, 'hello.tar');
    const out = execFileSync(process.execPath, [path.join(projectRoot, 'examples/library/build-hello.mjs'), dest, path.join(work, 'root')], {
      encoding: 'utf8',
    });
    expect(out).toContain('[stage-1 1/2] COPY --from=content /srv/ /srv/');
    const built = /^built (sha256:[0-9a-f]{64}) \(config (sha256:[0-9a-f]{64})\): 4 steps run, 0 cached, written to (.*)$/m.exec(out);
    expect(built?.[3]).toBe(dest);

    const layout = path.join(work, 'layout');
    execFileSync('mkdir', [layout]);
    execFileSync('tar', ['-xf', dest, '-C', layout]);
    const blob = (digest: string): Buffer => readFileSync(path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    expect(index.manifests.map((m) => m.digest)).toEqual([built?.[1]]);
    const manifest = JSON.parse(blob(built?.[1] ?? '').toString()) as { config: Descriptor; layers: Descriptor[] };
    expect(manifest.config.digest).toBe(built?.[2]);
    // COPY --from=content, then WORKDIR /srv (a layer of its own, as BuildKit makes it); the first
    // holds the greeting the build argument set.
    expect(manifest.layers).toHaveLength(2);
    const tar = path.join(work, 'layer.tar');
    execFileSync('sh', ['-c', 'cat > "$0"', tar], { input: gunzipSync(blob(manifest.layers[0]?.digest ?? '')) });
    expect(execFileSync('tar', ['-xOf', tar, 'srv/greeting.txt'], { encoding: 'utf8' })).toBe('hi\n');
  });

  it('npm run example builds a base from busybox-static, the app on it, and runs its command', () => {
    const root = tempDir();
    const result = spawnSync(process.execPath, [path.join(projectRoot, 'examples/run-example.mjs')], {
      env: { ...process.env, TSBUILD_ROOT: root },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('5 steps run, 0 cached; named docker.io/library/hello:latest');
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(-3, -1)).toEqual(['hello from tsbuild', 'Hello, world! This file comes from the build context.']);
    // Written by the RUN step: it ran as root in the busybox base, whose applet links the base's own RUN made.
    const ran = /^built by root on (x86_64|aarch64); the base has (\d+) busybox commands$/.exec(lines.at(-1) ?? '');
    expect(ran?.[1]).toBe(os.arch() === 'x64' ? 'x86_64' : 'aarch64');
    expect(Number(ran?.[2])).toBeGreaterThan(100);
    expect(lines.filter((l) => /^(example-base\s+busybox|hello\s+latest)\s/.test(l))).toHaveLength(2);
  });

  it('npm run example says in one line that busybox-static is missing', () => {
    const result = spawnSync(process.execPath, [path.join(projectRoot, 'examples/run-example.mjs')], {
      env: { ...process.env, BUSYBOX: '/nonexistent/busybox', TSBUILD_ROOT: tempDir() },
      encoding: 'utf8',
    });
    expect([result.status, result.stderr]).toEqual([
      1,
      "npm run example: /nonexistent/busybox is missing: install Debian's busybox-static (apt-get install busybox-static)\n",
    ]);
  });
});
