/**
 * A build whose base image download breaks mid-blob: the connection is cut (or goes silent) after
 * part of a layer, and the build's pull resumes it with a Range request from the bytes it has,
 * instead of starting over; the build succeeds, the layer verifies, and nothing is left in ingest.
 * Real registry, the fault proxy in front of it, the CLI as a user runs it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsbuildAsync } from '../helpers/cli.js';
import { writeBusyboxLayout, type LayoutImage } from '../helpers/oci-image.js';
import { startProxy, type ProxiedRequest } from '../helpers/proxy.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { leftovers, verifyBlobs } from '../helpers/state-root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-chaos-network-');
const CUT = 1_000_000;
let layouts: string;
let registry: TestRegistry;
let image: LayoutImage['manifests'][number];

beforeAll(async () => {
  if (!isRoot || !registryAvailable) return;
  layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-chaos-network-layouts-'));
  const layout = await writeBusyboxLayout(path.join(layouts, 'app'), '1', ['linux/amd64'], 'oci', { payload: randomBytes(3 * 1024 * 1024) });
  image = layout.manifests[0] as LayoutImage['manifests'][number];
  registry = await startRegistry();
  await skopeoPush(path.join(layouts, 'app'), '1', `${registry.host}/app:1`);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  if (layouts) rmSync(layouts, { recursive: true, force: true });
});

describe.skipIf(!isRoot || !registryAvailable)('a build whose base layer download breaks', () => {
  it.each([
    { name: 'the connection closed after 1 MB', fault: { cutAfter: CUT } },
    { name: 'the connection silent after 1 MB (the idle timeout ends it)', fault: { stallAfter: CUT } },
  ])('$name: resumed from byte 1000000 with Range, the build succeeds', async ({ fault }) => {
    const payload = image.layers[1] ?? '';
    const isPayload = (r: ProxiedRequest): boolean => r.method === 'GET' && r.url.endsWith(`/blobs/${payload}`);
    // Only the first request for the payload layer misbehaves.
    const proxy = await startProxy(registry.host, { fault: (r, earlier) => (isPayload(r) && !earlier.some(isPayload) ? fault : undefined) });
    try {
      const root = tempDir();
      const context = tempDir();
      const config = path.join(tempDir(), 'registries.json');
      writeFileSync(config, JSON.stringify({ network: { idleTimeout: 1, backoff: 0.05 } }));
      writeFileSync(path.join(context, 'Dockerfile'), `FROM ${proxy.host}/app:1\nRUN busybox wc -c /payload.bin > /size\n`);
      const built = await tsbuildAsync(['--root', root, '--registries-config', config, 'build', '-q', context], {
        env: { DOCKER_CONFIG: tempDir() },
        timeout: 60_000,
      });
      expect([built.status, built.stderr]).toEqual([0, '']);
      expect(built.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      expect(proxy.log.filter(isPayload).map((r) => r.headers.range ?? 'whole')).toEqual(['whole', `bytes=${CUT}-`]);
      expect(verifyBlobs(root).bad).toEqual([]);
      // The base's manifest, config and two layers; the RUN's layer, the image's config and manifest.
      expect(verifyBlobs(root).count).toBe(7);
      expect(leftovers(root).ingest).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });
});
