/** umoci as the independent reader: unpack an image made of given layers, list the tree. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';

/** Unpacks `layers` (gzipped blob files with their diffIDs) with umoci into `dir`; returns the rootfs. */
export function umociUnpack(dir: string, layers: Array<{ file: string; digest: string; size: number; diffID: string }>): string {
  const layout = path.join(dir, 'layout');
  mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  const put = (data: string): { digest: string; size: number } => {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: Buffer.byteLength(data) };
  };
  for (const l of layers) copyFileSync(l.file, path.join(layout, 'blobs', 'sha256', l.digest.slice(7)));
  const config = put(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) } }),
  );
  const manifest = put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    }),
  );
  writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'test' } },
      ],
    }),
  );
  execFileSync('umoci', ['unpack', '--image', `${layout}:test`, path.join(dir, 'bundle')], { stdio: 'pipe' });
  return path.join(dir, 'bundle', 'rootfs');
}

/** A sorted listing of a tree: path, type (with size or link target), mode, owner. */
export function treeListing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, child);
      const stat = lstatSync(abs);
      const what = stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? `link:${readlinkSync(abs)}` : `file:${readFileSync(abs).length}`;
      out.push(`${child} ${what} ${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid}`);
      if (stat.isDirectory()) walk(child);
    }
  };
  walk('');
  return out;
}
