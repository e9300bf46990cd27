/**
 * Issue 22: every digest tsbuild prints reaches the image. `build -q` and `--iidfile` print the
 * image id (the config digest) as buildx does; `push` and `--metadata-file` give the manifest
 * digest; an untagged build is a dangling `<none>` image. Each image command takes either digest,
 * whole or as a prefix, through the real CLI against a real registry.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/cli/render/plain.js';
import { tsbuild } from '../helpers/cli.js';
import { decompress } from '../helpers/image-tree.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-ids-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);
const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json' };

describe.skipIf(!isRoot || !registryAvailable)('image ids and digests through the CLI', () => {
  it('reaches an untagged build by every digest it printed, whole or as a prefix', () => {
    const context = tempDir();
    const root = tempDir();
    const meta = path.join(tempDir(), 'meta.json');
    const iid = path.join(tempDir(), 'iid');
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN echo built > /built.txt\n`);
    const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
      tsbuild(['--root', root, ...args], { env: { ...env, DOCKER_CONFIG: tempDir() }, timeout: 60_000 });
    const built = cli('build', '-q', '--iidfile', iid, '--metadata-file', meta, context);
    expect([built.status, built.stderr]).toEqual([0, '']);
    const metadata = JSON.parse(readFileSync(meta, 'utf8')) as Record<string, string>;
    const id = metadata['containerimage.config.digest'] as string;
    const manifest = metadata['containerimage.digest'] as string;
    // buildx prints (and writes) the config digest, the image id.
    expect([built.stdout, readFileSync(iid, 'utf8')]).toEqual([`${id}\n`, id]);
    expect(cli('images').stdout).toMatch(new RegExp(`\n<none>\\s+<none>\\s+${id.slice(7, 19)}\\s`));

    for (const ref of [id, id.slice(7), id.slice(7, 19), `sha256:${id.slice(7, 12)}`, manifest, manifest.slice(7, 19)]) {
      const inspect = cli('inspect', ref);
      expect([ref, inspect.status, inspect.stderr]).toEqual([ref, 0, '']);
      expect(JSON.parse(inspect.stdout)).toMatchObject({ digest: manifest, manifest: { config: { digest: id } } });
      expect(cli('history', ref).stdout).toContain('RUN /bin/sh -c echo built > /built.txt');
    }
    // images and history show the unpacked size (docker's SIZE) beside the compressed one.
    const layers = (JSON.parse(cli('inspect', id).stdout) as { manifest: { layers: Array<{ digest: string; size: number }> } }).manifest.layers;
    const unpacked = layers.map((l) => decompress(readFileSync(path.join(root, 'blobs', 'sha256', l.digest.slice(7)))).length);
    const sum = (sizes: number[]): number => sizes.reduce((a, b) => a + b, 0);
    expect(cli('images').stdout).toMatch(
      new RegExp(
        `\n<none>\\s+<none>\\s+${id.slice(7, 19)}\\s+.*ago\\s+${formatBytes(sum(unpacked))}\\s+${formatBytes(sum(layers.map((l) => l.size)))}\\s+linux/amd64\n`,
      ),
    );
    const history = cli('history', '--no-trunc', id).stdout.split('\n');
    expect(history[0]).toMatch(/^CREATED\s+CREATED BY\s+SIZE\s+COMPRESSED\s+COMMENT$/);
    expect(history[1]).toMatch(
      new RegExp(
        `RUN /bin/sh -c echo built > /built.txt # buildkit\\s+${formatBytes(unpacked.at(-1) ?? 0)}\\s+${formatBytes(layers.at(-1)?.size ?? 0)}(\\s|$)`,
      ),
    );
    const saved = path.join(tempDir(), 'image.tar');
    expect(cli('save', '-o', saved, manifest.slice(7, 19)).status).toBe(0);

    // Tagged by digest, the image is no longer dangling; push by its id goes to its one name.
    const name = `${busybox.registry().host}/ids:1`;
    expect(cli('tag', manifest, name).status).toBe(0);
    expect(cli('images').stdout).not.toContain('<none>');
    // The build kept its layer uncompressed; the push sends it gzipped, so the registry's manifest
    // (its digest printed) is another one over the same image id, and it reaches the image too.
    const pushed = cli('push', '-q', id.slice(7, 19));
    expect([pushed.status, pushed.stdout]).toEqual([0, expect.stringMatching(/^sha256:[a-f0-9]{64}\n$/)]);
    const remote = pushed.stdout.trim();
    expect(remote).not.toBe(manifest);
    expect(JSON.parse(cli('inspect', remote).stdout)).toMatchObject({ digest: remote, manifest: { config: { digest: id } } });

    // An id with two names is removed only when forced, as `docker rmi` does.
    expect(cli('tag', id, 'other:2').status).toBe(0);
    const refused = cli('rmi', id.slice(7, 19));
    expect([refused.status, refused.stderr]).toEqual([
      1,
      `error: unable to delete ${id.slice(7, 19)} (must be forced): image is referenced by 2 names\nremove the names (${name}, docker.io/library/other:2) one by one, or use rmi -f\n`,
    ]);
    const pushTwo = cli('push', id);
    expect(pushTwo.stderr.split('\n')[0]).toBe(
      `error: cannot push ${id}: the image needs exactly one name to push to (it has 2: ${name}, docker.io/library/other:2)`,
    );
    const forced = cli('rmi', '-f', id.slice(7, 19));
    expect([forced.status, forced.stdout]).toEqual([0, `Untagged: ${name}\nUntagged: docker.io/library/other:2\n`]);
    expect(cli('images', '-q').stdout.split('\n')).not.toContain(id.slice(7, 19));
  });

  it.each([
    ['inspect', ['inspect', 'sha256:0123'], 'error: no image with id or digest sha256:0123 in the local store\nsee tsbuild images\n'],
    ['history', ['history', 'abcdef'], 'error: no image with id or digest abcdef in the local store\nsee tsbuild images\n'],
    ['tag', ['tag', 'nothere', 'x:1'], 'error: no image named docker.io/library/nothere:latest in the local store\nsee tsbuild images\n'],
    ['rmi', ['rmi', 'sha256:xyz'], 'error: invalid image id "sha256:xyz": expected sha256: and hex digits\n'],
    ['push', ['push', 'Bad Name'], 'error: invalid reference "Bad Name": repository name must be lowercase\n'],
  ])('%s names what it could not find in one line', (_what, args, stderr) => {
    const result = tsbuild(['--root', tempDir(), ...args], { env });
    expect([result.status, result.stderr]).toEqual([1, stderr]);
  });
});
