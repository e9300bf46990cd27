/**
 * Where a finished image goes: each `--output` in turn, from the image in the content store. Image
 * outputs first make the variant they ask for (media types, annotations), then name it in the local
 * image store, push it, or write it as an OCI layout or docker archive; `local` and `tar` write its
 * root filesystem. Several platforms make one image each and an index over them: the image store
 * names the index, a push sends the images and then the index, an OCI layout names the index, and
 * `local`/`tar` write one directory per platform; a docker archive is refused.
 */
import { rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { inUserNamespace } from '../util/user-namespace.js';
import { InvalidArgumentError } from '../errors.js';
import { makeScratch } from '../util/scratch.js';
import { writingTo } from '../util/destination.js';
import type { ProgressSink } from '../progress/events.js';
import { imageRecord, indexRecord } from '../images/image-record.js';
import { pushIndex } from '../registry/push-index.js';
import { hostPlatform } from '../state/host-platform.js';
import path from 'node:path';
import { registryClient, type RegistryOptions } from '../registry/configured-client.js';
import { pushImage } from '../registry/push-image.js';
import type { StateRoot } from '../state/state-root.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { writeDockerArchive } from './docker-archive.js';
import { checkDockerCli, startDockerLoad } from './docker-load.js';
import { openLayout } from './layout-writer.js';
import { writeOciLayout, writeOciLayoutIndex } from './oci-layout.js';
import { imagePlatform, platformDirectory, writeIndex, type StoredIndex } from './platform-index.js';
import { formatPlatform } from '../image/platform.js';
import { STDOUT, type OutputSpec } from './output-spec.js';
import { writeRootfsDir, writeRootfsTarOf } from './rootfs.js';
import { compressForExport, recompressImage } from './recompress.js';
import { imageVariant, type StoredImage } from './stored-image.js';

/** What the outputs need besides the image. */
export interface OutputContext extends RegistryOptions {
  /** The state root: its content store, image index and blob sources. */
  root: StateRoot;
  /** The build's `-t` names (for outputs that name none of their own). */
  tags: readonly string[];
  /** SOURCE_DATE_EPOCH in seconds, when set. */
  sourceDateEpoch?: number;
  /** Digests of the layers that came with base images (`compression=` leaves them unless forced). */
  baseLayers?: ReadonlySet<string>;
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** Where `dest=-` writes (default: the process's stdout). */
  stdout?: Writable;
}

/** What one output wrote. */
export interface OutputResult {
  type: OutputSpec['type'];
  dest?: string;
  /** The manifest digest of what was written (image outputs). */
  digest?: string;
  names: string[];
  pushed: boolean;
}

/** The default output: the local image store. */
export const IMAGE_STORE_OUTPUT: OutputSpec = {
  type: 'image',
  push: false,
  names: [],
  ociMediaTypes: true,
  annotations: {},
  rewriteTimestamp: false,
};

/** Checks every name an output will use, and that a push has one; before a build runs, and here. */
export function checkOutputNames(outputs: readonly OutputSpec[], tags: readonly string[]): void {
  for (const output of outputs) {
    if (output.type === 'local' || output.type === 'tar') continue;
    if (output.type === 'docker' && output.load) checkDockerCli();
    for (const name of output.names) parseReference(name);
    if (output.type === 'image' && output.push && output.names.length === 0 && tags.length === 0) {
      throw new InvalidArgumentError('push needs a name: give -t NAME or name= in --output');
    }
  }
}

/**
 * Refuses, before a build runs, outputs that cannot hold `platforms` (more than one): a docker
 * archive holds single-platform images only, as buildx refuses it.
 */
export function checkOutputPlatforms(outputs: readonly OutputSpec[], platforms: readonly string[]): void {
  if (platforms.length < 2) return;
  if (outputs.some((o) => o.type === 'docker')) {
    throw new InvalidArgumentError(`type=docker cannot hold several platforms (${platforms.join(', ')}): docker archives hold one image per name`, {
      hint: 'use type=oci (an image index), or build one --platform at a time',
    });
  }
}

/** Writes `images` (one per platform; several make an image index) to every output. */
export async function writeOutputs(outputs: readonly OutputSpec[], images: readonly StoredImage[], ctx: OutputContext): Promise<OutputResult[]> {
  checkOutputNames(outputs, ctx.tags);
  const only = images.length === 1 ? images[0] : undefined;
  checkOutputPlatforms(
    outputs,
    images.map((i) => formatPlatform(imagePlatform(i))),
  );
  const results: OutputResult[] = [];
  const signal = ctx.signal;
  const store = ctx.root.store;
  for (const output of outputs) {
    if (output.type === 'local' || output.type === 'tar') {
      // Several platforms: one directory each, named like BuildKit's (`linux_arm64`).
      const parts = images.map((image) => ({ image, dir: only ? '.' : platformDirectory(image) }));
      const dest = output.type === 'tar' ? destination(output.dest, ctx) : output.dest;
      // A rootless build's directory is the user's, files and all (as `docker buildx -o type=local`
      // run by a user writes it): owned by the image's ids it would hold files of subordinate ids
      // that the user cannot even remove. The tar keeps the image's owners in its headers.
      const ownedByCaller = inUserNamespace();
      await writingTo(`the ${output.type} output`, output.dest, async () => {
        if (output.type === 'local') {
          for (const { image, dir } of parts) await writeRootfsDir(image, store, path.join(output.dest, dir), signal, { ownedByCaller });
          return;
        }
        // The tree behind the tar (a file or a stream) is made in the state root, where a killed build's is reclaimed.
        const work = await makeScratch(ctx.root.path, 'rootfs');
        try {
          await writeRootfsTarOf(parts, store, dest, { workDir: work, ...(signal ? { signal } : {}) });
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      });
      results.push({ type: output.type, dest: output.dest, names: [], pushed: false });
      continue;
    }
    if (output.rewriteTimestamp && ctx.sourceDateEpoch === undefined) {
      throw new InvalidArgumentError('rewrite-timestamp=true needs SOURCE_DATE_EPOCH', {
        hint: 'set it in the environment or with --build-arg SOURCE_DATE_EPOCH=…',
      });
    }
    const variants: StoredImage[] = [];
    for (const image of images) variants.push(await outputVariant(image, output, ctx, images.length));
    const variant = variants.length === 1 ? (variants[0] as StoredImage) : undefined;
    const index = variant ? undefined : await writeIndex(store, variants, output.ociMediaTypes);
    const digest = (variant?.descriptor ?? (index as StoredIndex).descriptor).digest;
    const names = (output.names.length > 0 ? output.names : ctx.tags).map((n) => formatReference(parseReference(n)));
    if (output.type === 'image') {
      const recordAs = (name: string) =>
        variant ? imageRecord(name, variant) : indexRecord(name, (index as StoredIndex).descriptor, variants, hostPlatform());
      for (const name of names) await ctx.root.images.put(recordAs(name));
      // An untagged build stays reachable by its id or digest, as a dangling image is in docker.
      if (names.length === 0) {
        await ctx.root.images.putDangling(recordAs(''));
      }
      if (output.push) {
        const where = { store, client: await registryClient(ctx), sources: ctx.root.blobSources };
        const options = { ...(ctx.progress ? { progress: ctx.progress } : {}), ...(signal ? { signal } : {}) };
        for (const name of names) await (variant ? pushImage(variant, name, where, options) : pushIndex(index as StoredIndex, name, where, options));
      }
      results.push({ type: 'image', digest, names, pushed: output.push });
      continue;
    }
    await writingTo(`the ${output.type} output`, output.dest, async () => {
      const loading = output.type === 'docker' && output.load ? startDockerLoad(signal) : undefined;
      const layout = await openLayout(loading ? loading.stdin : destination(output.dest, ctx), output.tar, signal);
      try {
        if (!variant) await writeOciLayoutIndex(layout, index as StoredIndex, names, store);
        else await (output.type === 'oci' ? writeOciLayout : writeDockerArchive)(layout, variant, names, store);
        await layout.commit();
      } catch (err) {
        await layout.abort();
        loading?.stdin.destroy();
        // A docker that ended early (missing, refused) says why; the broken pipe does not.
        if (loading) await loading.done();
        throw err;
      }
      if (loading) {
        loading.stdin.end();
        await loading.done();
      }
    });
    results.push({ type: output.type, dest: output.dest, digest, names, pushed: false });
  }
  return results;
}

/**
 * The image as the output wants it: recompressed when it asks, with its media types and
 * annotations. Without `compression=`, the build's uncompressed layers are gzipped for every output
 * but a single-platform image kept in the store and not pushed: that one keeps them as they are (a
 * multi-platform image is stored as it would be pushed, so `tsbuild push` sends its index as is).
 */
async function outputVariant(
  image: StoredImage,
  output: Extract<OutputSpec, { type: 'image' | 'oci' | 'docker' }>,
  ctx: OutputContext,
  platforms: number,
): Promise<StoredImage> {
  const signal = ctx.signal;
  const recompressing = {
    root: ctx.root.path,
    store: ctx.root.store,
    baseLayers: ctx.baseLayers ?? new Set<string>(),
    warn: ctx.root.warn,
    ...(signal ? { signal } : {}),
  };
  const choice = output.compression && {
    compression: output.compression,
    ...(output.compressionLevel === undefined ? {} : { level: output.compressionLevel }),
    force: output.forceCompression ?? false,
  };
  const keptLocally = output.type === 'image' && !output.push && platforms === 1;
  const recompressed = choice
    ? await recompressImage(image, choice, recompressing)
    : keptLocally
      ? image
      : await compressForExport(image, recompressing);
  return imageVariant(ctx.root.store, recompressed, output);
}

/** A destination path, or the stream `-` names. */
function destination(dest: string, ctx: OutputContext): string | Writable {
  return dest === STDOUT ? (ctx.stdout ?? process.stdout) : dest;
}
