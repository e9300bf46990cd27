/**
 * Reads an image from an archive (an OCI layout tar: tsbuild's `-o type=oci`, or what `docker save`
 * writes since Docker 25) and describes it for comparison: the config, the history, the layer count
 * and the flattened file tree, made here from the layer tars with tar-stream (not with tsbuild's
 * applier, so tsbuild never judges its own output). Whiteouts and opaque markers apply as the OCI
 * layer spec says; hard links are grouped by the set of paths sharing a file.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';

interface TarEntry {
  header: tar.Header;
  data: Buffer;
}

/** Every entry of a tar held in memory (the images compared here are a few MB). */
export async function tarEntries(bytes: Buffer): Promise<TarEntry[]> {
  const extract = tar.extract();
  const out: TarEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({ header, data: Buffer.concat(chunks) });
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([bytes]).pipe(extract);
  await done;
  return out;
}

/** A layer blob's tar: gunzipped, zstd-decompressed, or as it is (a plain tar). */
export function decompress(blob: Buffer): Buffer {
  if (blob[0] === 0x1f && blob[1] === 0x8b) return gunzipSync(blob);
  if (blob.readUInt32LE(0) === 0xfd2fb528) {
    const result = spawnSync('zstd', ['-dc'], { input: blob, maxBuffer: 1 << 30 });
    if (result.status !== 0) throw new Error(`zstd -dc failed: ${String(result.stderr)}`);
    return result.stdout;
  }
  return blob;
}

export interface ImageDescription {
  /** architecture, os, variant, author and the container config, empty values dropped. */
  config: Record<string, unknown>;
  /** [created_by, empty_layer, comment] per history entry. */
  history: Array<[string, boolean, string]>;
  layers: number;
  /** One line per path of the flattened tree (see `describeEntry`). */
  tree: string[];
  /**
   * The keys the config JSON spells out, top level, `config.` ones (`config.WorkingDir`) and each
   * history entry's (`history.2: comment,created,created_by,empty_layer`): a key written with an
   * empty value is not the same document as a key left out.
   */
  keys: string[];
  /** The image's `created`, then each history entry's, as written (`2020-09-13T12:26:40Z`). */
  created: string[];
}

interface FileInfo {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  digest?: string;
  linkname?: string;
  device?: string;
  mtime: number;
  xattrs: string[];
  /** The path whose file this hard link shares. */
  linkOf?: string;
}

/**
 * Describes the image in an OCI layout tar. `inputsBefore` (Unix seconds) splits mtimes: every
 * input (context files, archives, base layers, HTTP sources) carries an older fixed time, shown
 * exactly; newer ones were made by a build and are shown as `build-time`, since two builds never
 * share that moment (nor does a BuildKit step it took from an earlier run's cache, even with
 * --no-cache).
 */
export async function describeImageArchive(file: string, inputsBefore: number): Promise<ImageDescription> {
  const files = new Map((await tarEntries(readFileSync(file))).map((e) => [path.posix.normalize(e.header.name), e.data]));
  const blob = (digest: string): Buffer => {
    const data = files.get(`blobs/${digest.replace(':', '/')}`);
    if (!data) throw new Error(`${file}: blob ${digest} is missing`);
    return data;
  };
  const json = (data: Buffer): Record<string, unknown> => JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  const index = json(files.get('index.json') ?? Buffer.from('{}'));
  let manifest = json(blob((index.manifests as Array<{ digest: string }>)[0]?.digest ?? ''));
  while (Array.isArray(manifest.manifests)) manifest = json(blob((manifest.manifests as Array<{ digest: string }>)[0]?.digest ?? ''));
  const config = json(blob((manifest.config as { digest: string }).digest));
  const layers = (manifest.layers as Array<{ digest: string }>).map((l) => decompress(blob(l.digest)));

  const tree = new Map<string, FileInfo>();
  for (const layer of layers) await applyTo(tree, await tarEntries(layer));
  const links = hardLinkGroups(tree);
  const lines = [...tree.keys()].sort().map((p) => describeEntry(p, tree.get(p) as FileInfo, links.get(p), inputsBefore));

  const drop = (v: unknown): boolean => v === '' || v === false || v === null || v === undefined;
  // The container config as written, empty values included: BuildKit's Go types omit them (an
  // empty WorkingDir is no key at all), so a builder writing `""` differs in the config's digest.
  const container = (config.config as Record<string, unknown> | undefined) ?? {};
  const top = Object.fromEntries(['architecture', 'os', 'variant', 'author'].map((k) => [k, config[k]]).filter(([, v]) => !drop(v)));
  const history = ((config.history as Array<{ created_by?: string; empty_layer?: boolean; comment?: string }> | undefined) ?? []).map(
    (h): [string, boolean, string] => [h.created_by ?? '', h.empty_layer === true, h.comment ?? ''],
  );
  const keys = [
    ...Object.keys(config),
    ...Object.keys((config.config as Record<string, unknown> | undefined) ?? {}).map((k) => `config.${k}`),
    ...((config.history as Array<Record<string, unknown>> | undefined) ?? []).map((h, i) => `history.${i}: ${Object.keys(h).sort().join(',')}`),
  ].sort();
  const created = [
    typeof config.created === 'string' ? config.created : '',
    ...((config.history as Array<{ created?: string }> | undefined) ?? []).map((h) => h.created ?? ''),
  ];
  return { config: { ...top, config: container }, history, layers: layers.length, tree: lines, keys, created };
}

async function applyTo(tree: Map<string, FileInfo>, entries: TarEntry[]): Promise<void> {
  const below = new Set(tree.keys());
  for (const { header, data } of entries) {
    const name = path.posix
      .normalize(header.name)
      .replace(/^(\.\/|\/)+/, '')
      .replace(/\/+$/, '');
    if (name === '' || name === '.') continue;
    const base = path.posix.basename(name);
    const dir = path.posix.dirname(name);
    if (base === '.wh..wh..opq') {
      for (const p of [...tree.keys()]) if (below.has(p) && p.startsWith(`${dir === '.' ? '' : `${dir}/`}`) && p !== dir) tree.delete(p);
      continue;
    }
    if (base.startsWith('.wh.')) {
      const target = path.posix.join(dir, base.slice(4));
      for (const p of [...tree.keys()]) if (p === target || p.startsWith(`${target}/`)) tree.delete(p);
      continue;
    }
    for (let parent = path.posix.dirname(name); parent !== '.'; parent = path.posix.dirname(parent)) {
      if (!tree.has(parent)) tree.set(parent, { type: 'implied-dir', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0, xattrs: [] });
    }
    const existing = tree.get(name);
    if (existing && !(existing.type === 'dir' && header.type === 'directory'))
      for (const p of [...tree.keys()]) if (p.startsWith(`${name}/`)) tree.delete(p);
    const xattrs = Object.keys(header.pax ?? {})
      .filter((k) => k.startsWith('SCHILY.xattr.'))
      .map((k) => k.slice('SCHILY.xattr.'.length))
      .sort();
    const common = {
      mode: (header.mode ?? 0) & 0o7777,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      mtime: Math.floor((header.mtime?.getTime() ?? 0) / 1000),
      xattrs,
    };
    if (header.type === 'link') {
      const target = path.posix.normalize(header.linkname ?? '').replace(/^(\.\/|\/)+/, '');
      const shared = tree.get(target);
      if (!shared) throw new Error(`hard link ${name} to missing ${target}`);
      tree.set(name, { ...shared, linkOf: shared.linkOf ?? target });
      continue;
    }
    const types: Record<string, string> = {
      file: 'file',
      directory: 'dir',
      symlink: 'symlink',
      'character-device': 'char',
      'block-device': 'block',
      fifo: 'fifo',
    };
    const type = types[header.type ?? 'file'] ?? String(header.type);
    tree.set(name, {
      ...common,
      type,
      size: type === 'file' ? data.length : 0,
      ...(type === 'file' ? { digest: createHash('sha256').update(data).digest('hex').slice(0, 16) } : {}),
      ...(type === 'symlink' ? { linkname: header.linkname ?? '' } : {}),
      ...(type === 'char' || type === 'block' ? { device: `${header.devmajor ?? 0},${header.devminor ?? 0}` } : {}),
    });
  }
}

/** Each hard-linked path → the sorted list of the paths sharing its file. */
function hardLinkGroups(tree: Map<string, FileInfo>): Map<string, string> {
  const groups = new Map<string, string[]>();
  for (const [p, info] of tree) {
    if (!info.linkOf || !tree.has(info.linkOf)) continue;
    const members = groups.get(info.linkOf) ?? [info.linkOf];
    members.push(p);
    groups.set(info.linkOf, members);
  }
  const out = new Map<string, string>();
  for (const members of groups.values()) {
    const label = [...new Set(members)].sort().join(',');
    for (const m of members) out.set(m, label);
  }
  return out;
}

/** `path type mode uid:gid [size digest | -> target | dev M,m] mtime [xattrs] [links]`. */
function describeEntry(p: string, info: FileInfo, links: string | undefined, inputsBefore: number): string {
  if (info.type === 'implied-dir') return `${p} implied-dir`;
  const what = info.type === 'file' ? `${info.size} ${info.digest}` : info.type === 'symlink' ? `-> ${info.linkname}` : (info.device ?? '');
  const time = info.mtime >= inputsBefore ? 'build-time' : new Date(info.mtime * 1000).toISOString().replace('.000Z', 'Z');
  return [
    p,
    info.type,
    info.mode.toString(8).padStart(4, '0'),
    `${info.uid}:${info.gid}`,
    what,
    time,
    ...(info.xattrs.length > 0 ? [`xattrs=${info.xattrs.join(',')}`] : []),
    ...(links ? [`links=${links}`] : []),
  ]
    .filter((s) => s !== '')
    .join(' ');
}
