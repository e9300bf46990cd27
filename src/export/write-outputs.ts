/**
 * Where a finished image goes: each `--output` in turn, from the image in the content store. Image
 * outputs first make the variant they ask for (media types, annotations), then name it in the local
 * image store, push it, or write it as an OCI layout or docker archive; `local` and `tar` write its
 * root filesystem.
 */
import { inUserNamespace } from '../util/user-namespace.js';
import { InvalidArgumentError } from '../errors.js';
import { writingTo } from '../util/destination.js';
import type { ProgressSink } from '../progress/events.js';
import { imageRecord } from '../images/image-record.js';
import { registryClient, type RegistryOptions } from '../registry/configured-client.js';
import { pushImage } from '../registry/push-image.js';
import type { StateRoot } from '../state/state-root.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { writeDockerArchive } from './docker-archive.js';
import { openLayout } from './layout-writer.js';
import { writeOciLayout } from './oci-layout.js';
import type { OutputSpec } from './output-spec.js';
import { writeRootfsDir, writeRootfsTar } from './rootfs.js';
import { recompressImage } from './recompress.js';
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
    for (const name of output.names) parseReference(name);
    if (output.type === 'image' && output.push && output.names.length === 0 && tags.length === 0) {
      throw new InvalidArgumentError('push needs a name: give -t NAME or name= in --output');
    }
  }
}

/** Writes `image` to every output. */
export async function writeOutputs(outputs: readonly OutputSpec[], image: StoredImage, ctx: OutputContext): Promise<OutputResult[]> {
  checkOutputNames(outputs, ctx.tags);
  const results: OutputResult[] = [];
  const signal = ctx.signal;
  for (const output of outputs) {
    if (output.type === 'local' || output.type === 'tar') {
      // A rootless build's directory is the user's, files and all (as `docker buildx -o type=local`
      // run by a user writes it): owned by the image's ids it would hold files of subordinate ids
      // that the user cannot even remove. The tar keeps the image's owners in its headers.
      const ownedByCaller = inUserNamespace();
      await writingTo(`the ${output.type} output`, output.dest, () =>
        output.type === 'local'
          ? writeRootfsDir(image, ctx.root.store, output.dest, signal, { ownedByCaller })
          : writeRootfsTar(image, ctx.root.store, output.dest, signal),
      );
      results.push({ type: output.type, dest: output.dest, names: [], pushed: false });
      continue;
    }
    if (output.rewriteTimestamp && ctx.sourceDateEpoch === undefined) {
      throw new InvalidArgumentError('rewrite-timestamp=true needs SOURCE_DATE_EPOCH', {
        hint: 'set it in the environment or with --build-arg SOURCE_DATE_EPOCH=…',
      });
    }
    const recompressed = output.compression
      ? await recompressImage(
          image,
          {
            compression: output.compression,
            ...(output.compressionLevel === undefined ? {} : { level: output.compressionLevel }),
            force: output.forceCompression ?? false,
          },
          {
            root: ctx.root.path,
            store: ctx.root.store,
            baseLayers: ctx.baseLayers ?? new Set(),
            ...(signal ? { signal } : {}),
          },
        )
      : image;
    const variant = await imageVariant(ctx.root.store, recompressed, output);
    const names = (output.names.length > 0 ? output.names : ctx.tags).map((n) => formatReference(parseReference(n)));
    if (output.type === 'image') {
      for (const name of names) await ctx.root.images.put(imageRecord(name, variant));
      if (output.push) {
        const where = { store: ctx.root.store, client: await registryClient(ctx), sources: ctx.root.blobSources };
        for (const name of names) {
          await pushImage(variant, name, where, { ...(ctx.progress ? { progress: ctx.progress } : {}), ...(signal ? { signal } : {}) });
        }
      }
      results.push({ type: 'image', digest: variant.descriptor.digest, names, pushed: output.push });
      continue;
    }
    await writingTo(`the ${output.type} output`, output.dest, async () => {
      const layout = await openLayout(output.dest, output.tar, signal);
      try {
        await (output.type === 'oci' ? writeOciLayout : writeDockerArchive)(layout, variant, names, ctx.root.store);
        await layout.commit();
      } catch (err) {
        await layout.abort();
        throw err;
      }
    });
    results.push({ type: output.type, dest: output.dest, digest: variant.descriptor.digest, names, pushed: false });
  }
  return results;
}
