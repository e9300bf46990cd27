/**
 * Checked reading of image documents that come from outside: manifests, indexes and image configs
 * from a registry, an archive being loaded, a layout being merged into, a registry build cache.
 * A cast (`JSON.parse(text) as Manifest`) lets a hostile or broken document through to code that
 * trusts its shape (`manifest.layers.map`, `config.rootfs.diff_ids[i]`), where it fails as a
 * TypeError far from its cause; here it fails at the door with one line naming the document and
 * the first field that is wrong.
 *
 * The schemas (zod) check what tsbuild reads and keep every other field: the documents are stored
 * as their original bytes, so extra fields are neither lost nor rejected. Fields that Docker's
 * legacy builder writes as `null` (`Cmd`, `Entrypoint`, `Volumes`, `Labels`, `OnBuild`…) are
 * accepted as null.
 */
import * as z from 'zod';
import { InvalidArgumentError } from '../errors.js';
import type { Descriptor, ImageConfig, Index, Manifest } from './oci-types.js';

/**
 * The schemas, made on first use rather than when the module loads: making them takes ~15 ms, which
 * a build that reads no image document (`FROM scratch`, a no-op rebuild of one) or a command that
 * only starts should not pay.
 */
function makeSchemas() {
  // OCI image-spec descriptor.md: algorithm ":" encoded.
  const digest = z.string().regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'not a digest');
  const stringMap = z.record(z.string(), z.string());

  const platform = z.looseObject({
    os: z.string(),
    architecture: z.string(),
    variant: z.string().optional(),
    'os.version': z.string().optional(),
  });

  const descriptor = z.looseObject({
    mediaType: z.string(),
    digest,
    size: z.number().int().nonnegative(),
    platform: platform.optional(),
    annotations: stringMap.optional(),
    urls: z.array(z.string()).optional(),
  });

  const manifest = z.looseObject({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    config: descriptor,
    layers: z.array(descriptor),
    annotations: stringMap.optional(),
  });

  const index = z.looseObject({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    manifests: z.array(descriptor),
    annotations: stringMap.optional(),
  });

  const strings = z.array(z.string()).nullish();
  const set = z.record(z.string(), z.unknown()).nullish();

  const containerConfig = z.looseObject({
    User: z.string().optional(),
    ExposedPorts: set,
    Env: strings,
    Entrypoint: strings,
    Cmd: strings,
    Volumes: set,
    WorkingDir: z.string().optional(),
    Labels: z.record(z.string(), z.string()).nullish(),
    StopSignal: z.string().optional(),
    ArgsEscaped: z.boolean().optional(),
    Shell: strings,
    Healthcheck: z.looseObject({ Test: strings }).nullish(),
    OnBuild: strings,
  });

  const history = z.looseObject({
    created: z.string().optional(),
    created_by: z.string().optional(),
    author: z.string().optional(),
    comment: z.string().optional(),
    empty_layer: z.boolean().optional(),
  });

  const imageConfig = z.looseObject({
    architecture: z.string(),
    os: z.string(),
    variant: z.string().optional(),
    config: containerConfig.nullish(),
    rootfs: z.looseObject({ type: z.literal('layers'), diff_ids: z.array(digest) }),
    history: z.array(history).nullish(),
  });

  return { digest, descriptor, manifest, index, 'image config': imageConfig } as const;
}

let schemas: ReturnType<typeof makeSchemas> | undefined;
const documentSchemas = (): ReturnType<typeof makeSchemas> => (schemas ??= makeSchemas());

/** The descriptor schema, for documents of tsbuild's own that embed it. */
export const descriptorSchema = (): ReturnType<typeof makeSchemas>['descriptor'] => documentSchemas().descriptor;
/** The digest schema, likewise. */
export const digestSchema = (): ReturnType<typeof makeSchemas>['digest'] => documentSchemas().digest;

/** The documents this module reads, by the word used in errors. */
export type DocumentKind = Exclude<keyof ReturnType<typeof makeSchemas>, 'digest'>;
interface Documents {
  manifest: Manifest;
  index: Index;
  'image config': ImageConfig;
  descriptor: Descriptor;
}

/**
 * Parses `bytes` as a `kind` document, or fails with one line: `${about}: invalid ${kind}:
 * ${path}: ${problem}` (for instance `layers[0].digest: not a digest`).
 */
export function parseDocument<K extends DocumentKind>(kind: K, bytes: Buffer | string, about: string): Documents[K] {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch {
    throw new InvalidArgumentError(`${about}: invalid ${kind}: not JSON`);
  }
  const result = documentSchemas()[kind].safeParse(value);
  if (!result.success) throw new InvalidArgumentError(`${about}: invalid ${kind}: ${firstIssue(result.error)}`);
  // The schema checked every field tsbuild reads; the interfaces describe the same shape.
  return value as Documents[K];
}

/**
 * Parses `bytes` as JSON checked by `schema` (a caller's own document shape), with the same
 * one-line error. `T` is the schema's output, or the caller's interface for the same shape.
 */
export function parseChecked<S extends z.ZodType, T = z.output<S>>(schema: S, bytes: Buffer | string, about: string): T {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch {
    throw new InvalidArgumentError(`${about}: not JSON`);
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidArgumentError(`${about}: ${firstIssue(result.error)}`);
  return result.data as T;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const where = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
  return `${where || '(top level)'}: ${issue.message}`;
}
