/**
 * `-o, --output` specs, as `docker buildx build` takes them:
 * - `type=image[,name=…][,push=true]` (the default): the local image store, pushed when asked;
 * - `type=registry[,name=…]`: the same with `push=true`;
 * - `type=oci|docker,dest=PATH[,tar=false][,name=…]`: an OCI layout / `docker load` archive;
 * - `type=local,dest=DIR` and `type=tar,dest=FILE`: the final root filesystem.
 * Image outputs also take `oci-mediatypes=false`, `annotation[-manifest].KEY=VALUE`,
 * `rewrite-timestamp=true`, `compression=gzip|zstd|uncompressed`, `compression-level=N` and
 * `force-compression=true` (see `recompress.ts`). zstd and uncompressed layers exist only under OCI
 * media types, which they then imply (an explicit `oci-mediatypes=false` is refused).
 */
import type { LayerCompression } from '../archive/compression.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { csvRecord, parseFieldList } from '../util/field-list.js';

/** What image outputs share. */
export interface ImageOutputOptions {
  /** Names for the image; empty means the build's `-t` names. */
  names: string[];
  /** OCI media types (default) or Docker schema 2 (`oci-mediatypes=false`). */
  ociMediaTypes: boolean;
  /** Manifest annotations. */
  annotations: Record<string, string>;
  /** Clamp layer times to SOURCE_DATE_EPOCH (which must be set). */
  rewriteTimestamp: boolean;
  /** Layers in this compression (the build writes gzip). */
  compression?: LayerCompression;
  compressionLevel?: number;
  /** Convert base-image layers too. */
  forceCompression?: boolean;
}

export type OutputSpec =
  | ({ type: 'image'; push: boolean } & ImageOutputOptions)
  | ({ type: 'oci'; dest: string; tar: boolean } & ImageOutputOptions)
  | ({ type: 'docker'; dest: string; tar: boolean } & ImageOutputOptions)
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string };

const IMAGE_KEYS = new Set(['name', 'oci-mediatypes', 'rewrite-timestamp', 'compression', 'compression-level', 'force-compression']);
const COMPRESSIONS: readonly string[] = ['gzip', 'zstd', 'uncompressed'];
const LEVELS: Record<LayerCompression, [number, number]> = { gzip: [0, 9], zstd: [1, 19], uncompressed: [0, 0] };

/**
 * Parses one `--output` value, as buildx does: a value that is one CSV field and does not start
 * with `type=` is a path (`type=local,dest=PATH`); anything else is `KEY=VALUE` fields (keys in
 * any case), where an empty field or one without `=` is an error. Unlike buildx, a lone
 * `KEY=VALUE` other than `type=` (`-o dest=out`) is refused rather than taken as a directory named
 * `dest=out`, and unknown keys are refused rather than ignored: nothing is ever written where the
 * user did not mean to name a destination.
 */
export function parseOutput(spec: string): OutputSpec {
  const record = csvRecord(spec, '--output');
  if (record.length === 1 && record[0] === spec && !spec.toLowerCase().startsWith('type=')) {
    if (spec.includes('='))
      throw new InvalidArgumentError(`invalid --output "${spec}": missing type=`, { hint: `for a directory write type=local,${spec}` });
    if (spec.trim() === '') throw new InvalidArgumentError('invalid --output "": empty', { hint: 'give a directory or type=…,dest=…' });
    if (spec === '-') throw new UnsupportedError('--output "-": writing to stdout is not supported; give a file name');
    return { type: 'local', dest: spec };
  }
  const fields = parseFieldList(spec, '--output', true).map(([k, v]): [string, string] => [k.toLowerCase(), v]);
  const get = (key: string): string | undefined => [...fields].reverse().find(([k]) => k === key)?.[1];
  const type = get('type');
  if (!type)
    throw new InvalidArgumentError(`invalid --output "${spec}": missing type=`, { hint: 'use type=image, registry, oci, docker, local or tar' });
  const dest = (): string => {
    const value = get('dest');
    if (!value) throw new InvalidArgumentError(`invalid --output "${spec}": type=${type} needs dest=PATH`);
    if (value === '-') throw new UnsupportedError(`--output "${spec}": writing to stdout (dest=-) is not supported; give a file name`);
    return value;
  };
  const unknown = (allowed: Set<string>): void => {
    for (const [key] of fields) {
      if (key === 'type' || allowed.has(key) || key.startsWith('annotation')) continue;
      throw new InvalidArgumentError(`invalid --output "${spec}": unknown field "${key}" for type=${type}`);
    }
  };
  switch (type) {
    case 'local':
    case 'tar':
      unknown(new Set(['dest']));
      return { type, dest: dest() };
    case 'image':
    case 'registry':
      unknown(new Set([...IMAGE_KEYS, 'push', 'push-by-digest', 'store', 'unpack']));
      return { type: 'image', push: type === 'registry' || flag(get('push'), 'push', spec), ...imageOptions(fields, spec) };
    case 'oci':
    case 'docker':
      unknown(new Set([...IMAGE_KEYS, 'dest', 'tar']));
      // Like BuildKit: the docker exporter writes Docker media types unless told otherwise.
      return {
        type,
        dest: dest(),
        tar: get('tar') === undefined ? true : flag(get('tar'), 'tar', spec),
        ...imageOptions(fields, spec, type === 'oci'),
      };
    default:
      throw new InvalidArgumentError(`invalid --output "${spec}": unknown type "${type}"`, {
        hint: 'use type=image, registry, oci, docker, local or tar',
      });
  }
}

/** Parses `--annotation KEY=VALUE` / `manifest:KEY=VALUE` into manifest annotations. */
export function parseAnnotation(text: string, into: Record<string, string> = {}): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`invalid annotation "${text}": expected KEY=VALUE`);
  let key = text.slice(0, eq);
  const colon = key.indexOf(':');
  if (colon >= 0 && !key.slice(0, colon).includes('.')) {
    const kind = key.slice(0, colon).replace(/\[.*\]$/, '');
    if (kind !== 'manifest') throw new UnsupportedError(`annotation "${text}": only manifest annotations are supported, not ${kind}`);
    key = key.slice(colon + 1);
  }
  into[key] = text.slice(eq + 1);
  return into;
}

function imageOptions(fields: Array<[string, string]>, spec: string, ociByDefault = true): ImageOutputOptions {
  const names: string[] = [];
  const annotations: Record<string, string> = {};
  let ociMediaTypes: boolean | undefined;
  let rewriteTimestamp = false;
  let compression: LayerCompression | undefined;
  let level: number | undefined;
  let force = false;
  for (const [key, value] of fields) {
    if (key === 'name')
      names.push(
        ...value
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== ''),
      );
    else if (key === 'oci-mediatypes') ociMediaTypes = flag(value, key, spec);
    else if (key === 'rewrite-timestamp') rewriteTimestamp = flag(value, key, spec);
    else if (key === 'force-compression') force = flag(value, key, spec);
    else if (key === 'compression') {
      if (value === 'estargz') throw new UnsupportedError(`--output "${spec}": compression=estargz is not supported; use gzip, zstd or uncompressed`);
      if (!COMPRESSIONS.includes(value))
        throw new InvalidArgumentError(`invalid --output "${spec}": compression must be gzip, zstd or uncompressed, not "${value}"`);
      compression = value as LayerCompression;
    } else if (key === 'compression-level') {
      level = Number(value);
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`invalid --output "${spec}": compression-level must be a number, not "${value}"`);
    } else if (key.startsWith('annotation.')) annotations[key.slice('annotation.'.length)] = value;
    else if (key.startsWith('annotation-manifest.')) annotations[key.slice('annotation-manifest.'.length)] = value;
    else if (key.startsWith('annotation')) throw new UnsupportedError(`--output "${spec}": only manifest annotations are supported (${key})`);
  }
  if (level !== undefined) {
    const [min, max] = LEVELS[compression ?? 'gzip'];
    if (level < min || level > max)
      throw new InvalidArgumentError(
        `invalid --output "${spec}": compression-level for ${compression ?? 'gzip'} must be ${min}-${max}, not ${level}`,
      );
  }
  const ociOnly = compression === 'zstd' || compression === 'uncompressed';
  if (ociOnly && ociMediaTypes === false)
    throw new InvalidArgumentError(`invalid --output "${spec}": compression=${compression} needs OCI media types, not oci-mediatypes=false`);
  return {
    names,
    ociMediaTypes: ociMediaTypes ?? (ociOnly || ociByDefault),
    annotations,
    rewriteTimestamp,
    ...(compression ? { compression } : {}),
    ...(level !== undefined ? { compressionLevel: level } : {}),
    ...(force ? { forceCompression: true } : {}),
  };
}

function flag(value: string | undefined, key: string, spec: string): boolean {
  if (value === undefined || value === 'true') return value === 'true';
  if (value === 'false') return false;
  throw new InvalidArgumentError(`invalid --output "${spec}": ${key} must be true or false, not "${value}"`);
}

/** The outputs of a build from its flags: `-o` specs, `--push` and `--annotation`s. */
export function buildOutputs(specs: readonly string[], options: { push?: boolean; annotations?: readonly string[] } = {}): OutputSpec[] {
  const outputs = specs.map(parseOutput);
  if (outputs.length === 0 || (options.push && !outputs.some((o) => o.type === 'image'))) {
    outputs.push({ type: 'image', push: false, names: [], ociMediaTypes: true, annotations: {}, rewriteTimestamp: false });
  }
  const annotations: Record<string, string> = {};
  for (const text of options.annotations ?? []) parseAnnotation(text, annotations);
  return outputs.map((o) => {
    if (o.type === 'local' || o.type === 'tar') return o;
    const withAnnotations = { ...o, annotations: { ...annotations, ...o.annotations } };
    return withAnnotations.type === 'image' && options.push ? { ...withAnnotations, push: true } : withAnnotations;
  });
}
