/**
 * The examples the README points at run as written: the library example builds examples/hello
 * through the package's own entry points (`tsbuild`, `tsbuild/dockerfile`, `tsbuild/plan`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
});
