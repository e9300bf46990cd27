/**
 * The same fixture built by tsbuild and by BuildKit (a private Docker daemon from Debian's
 * `docker.io`, `DOCKER_BUILDKIT=1`, `--network=none`), both from the same busybox in the same local
 * registry; then compared: the container config, the history (text, empty_layer, comment), the
 * number of layers and the flattened file tree (path, type, size, mode, owner). Runs where dockerd
 * is installed; `.ci/run` installs it.
 *
 * Debian's BuildKit is older than the frontend tsbuild follows: COPY flags in history, the EXPOSE
 * and HEALTHCHECK history texts and mount-point stubs changed since, and are normalised (see
 * `olderFrontend`, `modernFrontend`, `MOUNT_STUBS`); everything else must be equal.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerCompression } from '../../src/archive/compression.js';
import { build } from '../../src/builder/run-build.js';
import { LocalContentStore } from '../../src/content/local-store.js';
import { applyLayer } from '../../src/diff/applier.js';
import { parseDigest } from '../../src/digest/digest.js';
import { readStoredImage, type StoredImage } from '../../src/export/stored-image.js';
import type { ContainerConfig, HistoryEntry } from '../../src/image/oci-types.js';
import { load } from '../../src/load.js';
import { dockerdAvailable, startDockerd, type TestDockerd } from '../helpers/dockerd.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { fixturePath } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';
import { treeListing } from '../helpers/umoci.js';

const ready = dockerdAvailable && registryAvailable;
const tempDir = useTempDirs('tsbuild-compare-');
const busybox = useBusyboxRegistry(ready);
let dockerd: TestDockerd;

beforeAll(async () => {
  if (ready) dockerd = await startDockerd();
}, 60_000);
afterAll(async () => {
  await dockerd?.stop();
});

/** The fixture copied to a temp context, with the archive ADD extracts made there. */
function context(): string {
  const dir = tempDir();
  cpSync(fixturePath('dockerfiles', 'compare'), dir, { recursive: true });
  const src = tempDir();
  writeFileSync(path.join(src, 'inside.txt'), 'from the archive\n');
  execFileSync('tar', ['-cf', path.join(dir, 'archive.tar'), '-C', src, '--owner=0', '--group=0', 'inside.txt']);
  return dir;
}

interface Built {
  config: ContainerConfig;
  history: Array<[string, boolean, string]>;
  layers: number;
  tree: string[];
}

async function describeImage(root: string, image: StoredImage): Promise<Built> {
  const store = new LocalContentStore(root);
  const rootfs = tempDir();
  for (const layer of image.manifest.layers) {
    await applyLayer(await store.reader(parseDigest(layer.digest)), rootfs, { mode: 'plain', compression: layerCompression(layer.mediaType) });
  }
  // Docker's config type spells out empty fields (Hostname "", AttachStdin false, Cmd null…).
  const config = Object.fromEntries(
    Object.entries(image.config.config ?? {}).filter(([, v]) => v !== '' && v !== false && v !== null),
  ) as ContainerConfig;
  const history = (image.config.history ?? []).map((h: HistoryEntry): [string, boolean, string] => [
    h.created_by ?? '',
    h.empty_layer ?? false,
    h.comment ?? '',
  ]);
  return { config, history, layers: image.manifest.layers.length, tree: treeListing(rootfs) };
}

/** History texts whose form changed in later frontends: tsbuild writes the modern one. */
function olderFrontend(createdBy: string): string {
  return createdBy
    .replace(/^EXPOSE map\[(.*)\]$/, (_m, ports: string) => `EXPOSE [${ports.replace(/:\{\}/g, '')}]`)
    .replace(/^HEALTHCHECK .*/, 'HEALTHCHECK (frontend-specific text)');
}
/**
 * Empty mount points Debian's BuildKit leaves in RUN layers when the image lacks them (runc's
 * /proc, /dev, /sys; the fixture's cache and bind targets). Later BuildKit removes such stubs
 * (executor's MountStubsCleaner), as tsbuild does; they are the only entries dropped.
 */
const MOUNT_STUBS = ['proc', 'dev', 'sys', 'cache', 'mnt'].map((d) => `${d} dir 755 0:0`);

function modernFrontend(createdBy: string): string {
  return createdBy
    .replace(/^(COPY|ADD)((?: --(?:chown|chmod|parents)(?:=\S+)?)+)/, '$1')
    .replace(/^HEALTHCHECK .*/, 'HEALTHCHECK (frontend-specific text)');
}

describe.skipIf(!ready)('tsbuild and BuildKit build the same image', () => {
  it.each([
    ['the final stage', undefined],
    ['--target test', 'test'],
  ])(
    '%s: same config, history, layers and files',
    async (_label, target) => {
      const dir = context();
      const base = `${busybox.registry().host}/busybox:1`;
      // No override of a stage ARG: Debian's frontend records an ARG's default in history, later ones the value used.
      const args = { BASE: base };

      const ours = tempDir();
      const result = await build({
        context: dir,
        root: ours,
        ...(target ? { target } : {}),
        buildArgs: args,
        registries: { registriesConfig: '/nonexistent/registries.json', dockerConfig: tempDir() },
      });
      const mine = await describeImage(ours, await readStoredImage(new LocalContentStore(ours), result.digest));

      const tag = `compare-${target ?? 'final'}:1`;
      await dockerd.docker([
        'build',
        '--network=none',
        '-q',
        '-t',
        tag,
        ...(target ? ['--target', target] : []),
        ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
        dir,
      ]);
      const archive = path.join(tempDir(), 'theirs.tar');
      await dockerd.docker(['save', '-o', archive, tag]);
      const theirsRoot = tempDir();
      const [loaded] = await load(archive, { root: theirsRoot });
      const theirs = await describeImage(theirsRoot, await readStoredImage(new LocalContentStore(theirsRoot), loaded?.digest ?? ''));

      expect(mine.config).toEqual(theirs.config);
      expect(mine.history.map(([by, empty, comment]) => [modernFrontend(by), empty, comment])).toEqual(
        theirs.history.map(([by, empty, comment]) => [olderFrontend(by), empty, comment]),
      );
      expect(mine.layers).toBe(theirs.layers);
      expect(mine.tree).toEqual(theirs.tree.filter((entry) => !MOUNT_STUBS.includes(entry)));
      expect(theirs.tree.filter((entry) => MOUNT_STUBS.includes(entry))).toEqual(MOUNT_STUBS.slice().sort());
    },
    120_000,
  );
});
