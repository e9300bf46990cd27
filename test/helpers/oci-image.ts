/**
 * Test base images made from Debian's static busybox (`/bin/busybox`), written as OCI image layouts
 * that skopeo can push to a test registry. Layers are built in memory: busybox is ~2 MB.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface LayoutImage {
  /** The digest of what `index.json` points at for the tag (manifest or index). */
  digest: string;
  /** Per platform: manifest digest, config digest, layer digests. */
  manifests: Array<{ platform: string; digest: string; config: string; layers: string[] }>;
}

const sha = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A gzipped tar of `entries`; returns the compressed bytes and the diffID. */
export async function makeLayer(
  entries: Array<{
    name: string;
    type?: 'file' | 'directory' | 'symlink' | 'link';
    data?: Buffer;
    linkname?: string;
    mode?: number;
    uid?: number;
    gid?: number;
  }>,
): Promise<{ gz: Buffer; diffId: string }> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', resolve));
  for (const e of entries) {
    const header = {
      name: e.name,
      type: e.type ?? 'file',
      mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      ...(e.linkname ? { linkname: e.linkname } : {}),
    };
    const callback = (err?: Error | null): void => (err ? reject(err) : resolve());
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const written = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    if (e.type === 'file' || e.type === undefined) pack.entry(header, e.data ?? Buffer.alloc(0), callback);
    else pack.entry(header, callback);
    await written;
  }
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  return { gz: gzipSync(raw), diffId: sha(raw) };
}

/** The busybox root filesystem layer: /bin/busybox (the host's, or the binary at `binary`) and a few applet links. */
export async function busyboxLayer(binary = '/bin/busybox'): Promise<{ gz: Buffer; diffId: string }> {
  const busybox = readFileSync(binary);
  return makeLayer([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', data: busybox, mode: 0o755 },
    ...['sh', 'ls', 'cat', 'echo', 'true', 'false'].map((applet) => ({ name: `bin/${applet}`, type: 'symlink' as const, linkname: 'busybox' })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') },
    { name: 'etc/group', data: Buffer.from('root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\n') },
  ]);
}

/**
 * Writes an OCI layout at `dir` with one image per platform (the same busybox layer plus a small
 * per-platform layer), tagged `tag`. One platform: the tag names the manifest. Several: an index.
 * `payload` goes into the per-platform layer as `/payload.bin` (random bytes make it as large);
 * `busybox` names a binary per platform (default: the host's `/bin/busybox` for every platform).
 */
export async function writeBusyboxLayout(
  dir: string,
  tag: string,
  platforms: string[],
  mediaTypes: 'oci' | 'docker' = 'oci',
  /** `payload`: see above; `config`: container config fields to set besides PATH, `Cmd` and `WorkingDir` (`Env` replaces PATH). */
  options: { payload?: Buffer; config?: Record<string, unknown>; busybox?: Record<string, string> } = {},
): Promise<LayoutImage> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer | string): { digest: string; size: number } => {
    const digest = sha(data);
    writeFileSync(path.join(blobs, digest.slice(7)), data);
    return { digest, size: Buffer.byteLength(data) };
  };
  const types =
    mediaTypes === 'oci'
      ? {
          manifest: 'application/vnd.oci.image.manifest.v1+json',
          index: 'application/vnd.oci.image.index.v1+json',
          config: 'application/vnd.oci.image.config.v1+json',
          layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
        }
      : {
          manifest: 'application/vnd.docker.distribution.manifest.v2+json',
          index: 'application/vnd.docker.distribution.manifest.list.v2+json',
          config: 'application/vnd.docker.container.image.v1+json',
          layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        };
  const manifests: LayoutImage['manifests'] = [];
  const descriptors = [];
  for (const platform of platforms) {
    // `busybox` gives a platform its own binary (an arm64 busybox for emulated RUN steps).
    const base = await busyboxLayer(options.busybox?.[platform]);
    const baseBlob = put(base.gz);
    const [os, architecture, variant] = platform.split('/');
    const marker = await makeLayer([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/platform', data: Buffer.from(`${platform}\n`) },
      ...(options.payload ? [{ name: 'payload.bin', data: options.payload }] : []),
    ]);
    const markerBlob = put(marker.gz);
    const config = JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture,
      os,
      ...(variant ? { variant } : {}),
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], WorkingDir: '/', ...options.config },
      rootfs: { type: 'layers', diff_ids: [base.diffId, marker.diffId] },
      history: [
        { created: '2024-01-01T00:00:00Z', created_by: 'busybox from Debian' },
        { created: '2024-01-01T00:00:00Z', created_by: `platform ${platform}` },
      ],
    });
    const configBlob = put(config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, ...configBlob },
      layers: [
        { mediaType: types.layer, ...baseBlob },
        { mediaType: types.layer, ...markerBlob },
      ],
    });
    const manifestBlob = put(manifest);
    manifests.push({ platform, digest: manifestBlob.digest, config: configBlob.digest, layers: [baseBlob.digest, markerBlob.digest] });
    descriptors.push({ mediaType: types.manifest, ...manifestBlob, platform: { os, architecture, ...(variant ? { variant } : {}) } });
  }
  const annotations = { 'org.opencontainers.image.ref.name': tag };
  let top: { mediaType: string; digest: string; size: number };
  if (platforms.length === 1) {
    const only = descriptors[0]!;
    top = { mediaType: only.mediaType, digest: only.digest, size: only.size };
  } else {
    top = { mediaType: types.index, ...put(JSON.stringify({ schemaVersion: 2, mediaType: types.index, manifests: descriptors })) };
  }
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...top, annotations }] }),
  );
  return { digest: top.digest, manifests };
}

/**
 * Writes an OCI layout at `dir` holding one linux/amd64 image tagged `tag`, made of `layers` (from
 * `makeLayer`) with `config` as its container config: for bases that differ from busybox's.
 */
export function writeImageLayout(
  dir: string,
  tag: string,
  layers: Array<{ gz: Buffer; diffId: string }>,
  config: Record<string, unknown>,
): { digest: string } {
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer | string): { digest: string; size: number } => {
    const digest = sha(data);
    writeFileSync(path.join(blobs, digest.slice(7)), data);
    return { digest, size: Buffer.byteLength(data) };
  };
  const imageConfig = JSON.stringify({
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(imageConfig) },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(l.gz) })),
  });
  const top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...put(manifest) };
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { digest: top.digest };
}
