/**
 * `-o, --output` specs, as `docker buildx build` takes them:
 * - `type=image[,name=…][,push=true]` (the default): the local image store, pushed when asked;
 * - `type=registry[,name=…]`: the same with `push=true`;
 * - `type=oci|docker,dest=PATH[,tar=false][,name=…]`: an OCI layout / `docker load` archive;
 * - `type=local,dest=DIR` and `type=tar,dest=FILE`: the final root filesystem.
 * `dest=-` (and `-o -`, short for `type=tar,dest=-`) writes a tar to stdout, as do `tar` and `oci`
 * without `dest`; `type=docker` without `dest` (and `--load`) goes into `docker load`.
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
  | ({ type: 'docker'; dest: string; tar: boolean; /** Into `docker load` (`--load`, or no `dest`). */ load?: boolean } & ImageOutputOptions)
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string };

/** `dest=-`: the output is a tar stream on stdout. */
export const STDOUT = '-';

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
    // buildx: `-o -` is a tar of the root filesystem on stdout.
    if (spec === STDOUT) return { type: 'tar', dest: STDOUT };
    return { type: 'local', dest: spec };
  }
  const fields = parseFieldList(spec, '--output', true).map(([k, v]): [string, string] => [k.toLowerCase(), v]);
  const get = (key: string): string | undefined => [...fields].reverse().find(([k]) => k === key)?.[1];
  const type = get('type');
  if (!type)
    throw new InvalidArgumentError(`invalid --output "${spec}": missing type=`, { hint: 'use type=image, registry, oci, docker, local or tar' });
  const dest = (): string => {
    // As buildx: a tar or OCI archive without dest goes to stdout.
    const value = get('dest') ?? (type === 'tar' || type === 'oci' ? STDOUT : undefined);
    if (!value) throw new InvalidArgumentError(`invalid --output "${spec}": type=${type} needs dest=PATH`);
    if (value === STDOUT && (type === 'local' || get('tar') === 'false'))
      throw new InvalidArgumentError(`invalid --output "${spec}": a directory cannot be written to stdout (dest=-)`, {
        hint: 'use type=tar,dest=- or a directory name',
      });
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
      // As buildx: a docker archive without dest is loaded into Docker.
      if (type === 'docker' && get('dest') === undefined) return { ...loadOutput(), ...imageOptions(fields, spec, false) };
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

/** `--load`: a docker archive into `docker load`. */
function loadOutput(): Extract<OutputSpec, { type: 'docker' }> {
  return { type: 'docker', dest: 'docker load', tar: true, load: true, names: [], ociMediaTypes: false, annotations: {}, rewriteTimestamp: false };
}

/**
 * The outputs of a build from its flags: `-o` specs, `--push`, `--load` and `--annotation`s. At
 * most one writes to stdout (buildx's rule).
 */
export function buildOutputs(
  specs: readonly string[],
  options: { push?: boolean; load?: boolean; annotations?: readonly string[] } = {},
): OutputSpec[] {
  const outputs = specs.map(parseOutput);
  if (options.load && !outputs.some((o) => o.type === 'docker' && o.load)) outputs.push(loadOutput());
  if (outputs.filter((o) => 'dest' in o && o.dest === STDOUT).length > 1)
    throw new InvalidArgumentError('multiple outputs configured to write to stdout');
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

/** buildx's refusal to write an archive to a terminal, for the outputs that write to stdout. */
export function checkStdoutOutputs(outputs: readonly OutputSpec[], stdoutIsTTY: boolean): void {
  const toStdout = outputs.find((o) => 'dest' in o && o.dest === STDOUT && !(o.type === 'docker' && o.load));
  if (toStdout && stdoutIsTTY)
    throw new InvalidArgumentError(`dest file is required for ${toStdout.type} exporter. refusing to write to console`, {
      hint: 'redirect stdout (> image.tar, | docker load) or give dest=FILE',
    });
}

/** Whether an output writes to stdout (then nothing else may). */
export function writesToStdout(outputs: readonly OutputSpec[]): boolean {
  return outputs.some((o) => 'dest' in o && o.dest === STDOUT);
}
