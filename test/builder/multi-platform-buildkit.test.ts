/**
 * A two-platform build compared with current BuildKit (Engine 28 with the containerd image store,
 * `docker buildx build --platform linux/amd64,linux/arm64 -o type=oci`): the same index (media
 * types, platforms in order), and per platform the same config, history and files. Skipped with
 * the reason where the engine cannot start.
 */
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageConfig, Index, Manifest } from '../../src/image/oci-types.js';
import { parseOutput } from '../../src/export/output-spec.js';
import { build } from '../../src/verbs/build.js';
import { testRequest } from '../helpers/build.js';
import { startContainerdStoreDocker, type PrivateDocker } from '../helpers/containerd-store-docker.js';
import { writeBusyboxLayout } from '../helpers/oci-image.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-multiplat-bk-');
let engine: PrivateDocker | undefined;
let registry: TestRegistry | undefined;
let layouts: string | undefined;
let skipped = isRoot && registryAvailable ? '' : 'needs root, docker-registry and skopeo';

beforeAll(async () => {
  if (skipped) return;
  const started = await startContainerdStoreDocker();
  if (!started.engine) {
    skipped = started.reason ?? 'no engine';
    return;
  }
  engine = started.engine;
  layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-multiplat-bk-layouts-'));
  await writeBusyboxLayout(path.join(layouts, 'bb'), '1', ['linux/amd64', 'linux/arm64']);
  registry = await startRegistry();
  await skopeoPush(path.join(layouts, 'bb'), '1', `${registry.host}/busybox:1`, { all: true });
}, 180_000);
afterAll(async () => {
  await engine?.stop();
  await registry?.stop();
  if (layouts) rmSync(layouts, { recursive: true, force: true });
}, 60_000);

/** What a layout's image holds, per platform, in the terms both builders must agree on. */
async function describeLayout(dir: string): Promise<unknown> {
  const blob = (digest: string): Buffer => readFileSync(path.join(dir, 'blobs/sha256', digest.slice(7)));
  const top = (JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as Index).manifests[0];
  const index = JSON.parse(blob(top?.digest ?? '').toString()) as Index;
  const platforms = [];
  for (const entry of index.manifests) {
    const manifest = JSON.parse(blob(entry.digest).toString()) as Manifest;
    const config = JSON.parse(blob(manifest.config.digest).toString()) as ImageConfig;
    const last = manifest.layers[manifest.layers.length - 1];
    platforms.push({
      platform: entry.platform,
      mediaType: manifest.mediaType,
      layers: manifest.layers.length,
      baseLayers: manifest.layers.slice(0, 2).map((l) => l.digest),
      config: { os: config.os, architecture: config.architecture, variant: config.variant, env: config.config?.Env },
      history: config.history?.map((h) => [h.created_by, h.empty_layer ?? false]),
      files: last ? await layerFiles(blob(last.digest)) : [],
    });
  }
  return { topMediaType: top?.mediaType, mediaType: index.mediaType, platforms };
}

/** A layer's entries: name, type, mode and content. */
async function layerFiles(gz: Buffer): Promise<string[]> {
  const extract = tar.extract();
  const out: string[] = [];
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      out.push(`${header.name} ${header.type} ${(header.mode ?? 0).toString(8)} ${JSON.stringify(Buffer.concat(chunks).toString())}`);
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => extract.on('finish', () => resolve()).on('error', reject));
  extract.end(gunzipSync(gz));
  await done;
  return out;
}

describe('a two-platform build compared with BuildKit', () => {
  it('gives the same index, configs, history and files', async (ctx) => {
    if (skipped) ctx.skip(skipped);
    const host = (registry as TestRegistry).host;
    const context = tempDir();
    writeFileSync(
      path.join(context, 'Dockerfile'),
      [
        `FROM --platform=$BUILDPLATFORM ${host}/busybox:1 AS tools`,
        'RUN echo "built on $(cat /etc/platform)" > /tool.txt',
        `FROM ${host}/busybox:1`,
        'ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM',
        'ENV TARGET="$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT" BUILT_ON=$BUILDPLATFORM',
        'COPY --from=tools /tool.txt /tool.txt',
      ].join('\n'),
    );
    const theirs = path.join(tempDir(), 'buildkit');
    await (engine as PrivateDocker).docker([
      ...['buildx', 'build', '--provenance=false', '--no-cache', '--network=none', '--progress=quiet'],
      ...['--platform', 'linux/amd64,linux/arm64', '-o', `type=oci,dest=${theirs},tar=false`, context],
    ]);
    const ours = path.join(tempDir(), 'tsbuild');
    await build(
      testRequest({ context, root: tempDir() }, tempDir, {
        platform: 'linux/amd64,linux/arm64',
        outputs: [parseOutput(`type=oci,dest=${ours},tar=false`)],
        network: 'none',
      }),
    );
    const expected = await describeLayout(theirs);
    expect(await describeLayout(ours)).toEqual(expected);
    // The comparison is not empty: two platforms, each with the tool built on amd64.
    expect(JSON.stringify(expected)).toContain('tool.txt file 644 \\"built on linux/amd64\\\\n\\"');
  }, 300_000);
});
