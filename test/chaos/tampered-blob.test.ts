/**
 * A blob in the store whose bytes were changed (one byte flipped, as a bad disk or a hand edit
 * does): the next build that reads it notices, says so in one line naming the blob, and removes
 * it. Where the Dockerfile checks find it first (a base image's config), the build pulls it again
 * and succeeds with that line as a warning; elsewhere the build fails with it as the error, and
 * the build run again repairs the store (pulls the base image's blob again, or runs the step that
 * made the layer again). Either way the image is the one made before, and every blob verifies.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { registryAvailable, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { verifyBlobs } from '../helpers/state-root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-chaos-tamper-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);

interface Built {
  root: string;
  /** The manifest, config and layer digests of the image the build made, and of its base. */
  image: { manifest: string; config: string; layers: string[] };
  base: { manifest: string; config: string; layers: string[] };
}

/**
 * Flips one bit: early in a gzip layer (its deflate data then fails to decompress before the
 * digest is checked at the end, the harder case to report well), in the middle of anything else.
 */
function flipByte(root: string, digest: string): void {
  const file = path.join(root, 'blobs', 'sha256', digest.slice(7));
  const bytes = readFileSync(file);
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const at = gzip ? 20 : Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  writeFileSync(file, bytes);
}

describe.skipIf(!isRoot || !registryAvailable)('a tampered blob in the store', () => {
  it.each([
    {
      name: "the base image's layer, read when it is unpacked again (after prune --all)",
      blob: (b: Built) => b.base.layers[0] ?? '',
      before: ['prune', '--all'],
      output: [],
      pulledAgain: false,
    },
    {
      name: "the base image's manifest, read when the build looks the base up",
      blob: (b: Built) => b.base.manifest,
      before: [],
      output: [],
      pulledAgain: false,
    },
    {
      name: "the base image's config, read first by the Dockerfile checks",
      blob: (b: Built) => b.base.config,
      before: [],
      output: [],
      pulledAgain: true,
    },
    {
      name: "a step's layer, read when the image is written to an OCI archive",
      blob: (b: Built) => b.image.layers.at(-1) ?? '',
      before: [],
      output: ['oci'],
      pulledAgain: false,
    },
  ])('$name: one line naming it, and the store is repaired', ({ blob, before, output, pulledAgain }) => {
    const root = tempDir();
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN echo made > /made\n`);
    const env = { SOURCE_DATE_EPOCH: '1700000000', TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    const outputs = output.length > 0 ? ['-o', `type=oci,dest=${path.join(tempDir(), 'out.tar')}`] : [];
    const build = () => tsbuild(['--root', root, 'build', '-q', '-t', 'app:1', ...outputs, context], { env, timeout: 60_000 });
    const first = build();
    expect(first.status).toBe(0);
    const inspect = (name: string): Built['image'] => {
      const shown = JSON.parse(tsbuild(['--root', root, 'inspect', name], { env }).stdout) as {
        digest: string;
        manifest: { config: { digest: string }; layers: Array<{ digest: string }> };
      };
      return { manifest: shown.digest, config: shown.manifest.config.digest, layers: shown.manifest.layers.map((l) => l.digest) };
    };
    const base = inspect(`${busybox.registry().host}/busybox:1`);
    // With an OCI output the image is not named: its last layer is the step's, found in the archive's manifest.
    const image = output.length > 0 ? { ...base, layers: [...base.layers, stepLayer(first.stdout.trim(), root)] } : inspect('app:1');
    const damaged = blob({ root, image, base });
    if (before.length > 0) expect(tsbuild(['--root', root, ...before], { env }).status).toBe(0);
    flipByte(root, damaged);

    const line = `stored blob ${damaged} is damaged \\(its bytes hash to sha256:[0-9a-f]{64}\\) and was removed; the next pull or build fetches or makes it again`;
    const noticed = build();
    if (pulledAgain) {
      expect([noticed.status, noticed.stdout]).toEqual([0, first.stdout]);
      expect(noticed.stderr).toMatch(new RegExp(`^warning: ${line}\\n$`));
    } else {
      expect([noticed.status, noticed.stdout]).toEqual([1, '']);
      expect(noticed.stderr).toMatch(new RegExp(`^error: ${line}\\n$`));
      const repaired = build();
      expect([repaired.status, repaired.stdout, repaired.stderr]).toEqual([0, first.stdout, '']);
    }
    expect(verifyBlobs(root).bad).toEqual([]);
  });
});

/** The layer a build added on top of its base: the last layer of the manifest `digest` in the store. */
/** The last layer of the stored manifest whose config is `id` (what `build -q` prints, as buildx does). */
function stepLayer(id: string, root: string): string {
  const dir = path.join(root, 'blobs', 'sha256');
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).size > 64 * 1024) continue;
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { config?: { digest?: string }; layers?: Array<{ digest: string; mediaType: string }> };
      // The archive's manifest, with the step's layer gzipped (the store keeps it uncompressed too).
      const last = doc.layers?.at(-1);
      if (doc.config?.digest === id && last?.mediaType.endsWith('gzip')) return last.digest;
    } catch {
      // not JSON: a layer
    }
  }
  return '';
}
